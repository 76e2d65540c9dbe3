from yonyou.signing import sign, signature_is_valid

DOC_PARAMS = {"appKey": "41832a3d2df94989b500da6a22268747", "timestamp": "1568098531823"}


def test_signature_matches_a_vector_computed_independently():
    # printf 'appKey41832a3d2df94989b500da6a22268747timestamp1568098531823' \
    #   | openssl dgst -sha256 -hmac 'test-secret' -binary | base64
    assert sign("test-secret", DOC_PARAMS) == "Vyqsw6IGDHokpuJCPgJN2BoUphMnWpALCXriKgF35t0="


def test_signature_ignores_the_signature_parameter_and_parameter_order():
    reordered = {"timestamp": DOC_PARAMS["timestamp"], "signature": "x", "appKey": DOC_PARAMS["appKey"]}
    assert sign("test-secret", reordered) == sign("test-secret", DOC_PARAMS)


def test_a_different_secret_gives_an_invalid_signature():
    assert signature_is_valid("test-secret", DOC_PARAMS, sign("test-secret", DOC_PARAMS))
    assert not signature_is_valid("other-secret", DOC_PARAMS, sign("test-secret", DOC_PARAMS))
