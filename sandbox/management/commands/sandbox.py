import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from sandbox.server import build_server
from sandbox.smtp import start_smtp_server


class Command(BaseCommand):
    help = (
        "Serve the Yonyou sandbox: a threaded HTTP server speaking the Yonyou open API (tokens, "
        "attachments, document lists) with fault injection under /__sandbox__/. Files and tokens "
        "persist in DATA_DIR/sandbox/. It accepts YONYOU_APP_KEY/YONYOU_APP_SECRET. The same process serves "
        "the WeCom robot and app messages, Aliyun SMS (checking WECOM_CORP_*/ALIYUN_ACCESS_KEY_*) and, "
        "on --smtp-port (default none), an SMTP server. SIGTERM stops it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.SANDBOX_PORT)
        # No SMTP unless asked: a fixed default port would collide between parallel test sandboxes.
        # `runstack` passes SANDBOX_SMTP_PORT, the test fixture a free port.
        parser.add_argument("--smtp-port", type=int, default=0)

    def handle(self, *args, host, port, smtp_port, **options):
        server = build_server(
            host,
            port,
            settings.DATA_DIR / "sandbox",
            app_key=settings.YONYOU_APP_KEY,
            app_secret=settings.YONYOU_APP_SECRET,
            messaging_credentials={
                "corp_id": settings.WECOM_CORP_ID,
                "corp_secret": settings.WECOM_CORP_SECRET,
                "access_key_id": settings.ALIYUN_ACCESS_KEY_ID,
                "access_key_secret": settings.ALIYUN_ACCESS_KEY_SECRET,
            },
        )
        smtp = start_smtp_server(host, smtp_port, server.state) if smtp_port else None

        def stop(signum, frame):
            # shutdown() waits for serve_forever to return, so it must run on another thread.
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"Yonyou sandbox on http://{host}:{port} (data in {settings.DATA_DIR / 'sandbox'})")
        if smtp:
            self.stdout.write(f"SMTP sandbox on {host}:{smtp_port}")
        try:
            server.serve_forever(poll_interval=0.2)
        finally:
            server.server_close()
            if smtp:
                smtp.stop()
