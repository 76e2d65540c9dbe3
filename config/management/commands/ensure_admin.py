import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create the superuser 'admin' if no superuser exists. The password comes from "
        "ADMIN_PASSWORD, else one is generated and printed once. Does nothing otherwise."
    )

    def handle(self, *args, **options):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            return
        password = os.environ.get("ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", email="", password=password)
        if os.environ.get("ADMIN_PASSWORD"):
            self.stdout.write("Created superuser 'admin' with the password from ADMIN_PASSWORD.")
        else:
            self.stdout.write(f"Created superuser 'admin' with password: {password}  (shown only once)")
