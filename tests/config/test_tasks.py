import pytest
from django_q.tasks import async_task, result

from tests.conftest import wait_until


@pytest.mark.django_db(transaction=True)
@pytest.mark.cluster
def test_a_task_round_trips_through_the_broker_and_a_real_cluster(qcluster):
    task_id = async_task("config.tasks.ping", "hello")
    assert wait_until(lambda: result(task_id), timeout_s=30, message="the task result") == "hello"
