from django.apps import AppConfig


class YonyouConfig(AppConfig):
    """Hosts the `sandbox` management command; the client itself needs no app."""

    name = "yonyou"
    verbose_name = "Yonyou open API"
