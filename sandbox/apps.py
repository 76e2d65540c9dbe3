from django.apps import AppConfig


class SandboxConfig(AppConfig):
    """Hosts the `sandbox` management command: every fake remote (Yonyou, WeCom, Aliyun SMS, SMTP,
    the project system) served over real HTTP/SMTP for development and tests."""

    name = "sandbox"
    verbose_name = "Sandbox of the remotes"
