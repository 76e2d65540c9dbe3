from django.contrib.auth.management import create_permissions
from django.db import migrations

# Staff see, retry (change), soft-delete and export upload records, and print upload QR codes.
# Records are only created by uploads, never added by hand. Field users upload through the pages
# and the API, which check the group itself; they get no admin permission.
STAFF = ("view_uploadrecord", "change_uploadrecord", "delete_uploadrecord", "create_upload_link")


def grant(apps, schema_editor):
    # Permissions are normally created after migrate; create ours now so they can be granted.
    app_config = apps.get_app_config("uploads")
    app_config.models_module = True  # the migration state's stub says "no models" otherwise
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    staff, _ = Group.objects.get_or_create(name="staff")
    staff.permissions.add(*Permission.objects.filter(content_type__app_label="uploads", codename__in=STAFF))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    staff = Group.objects.filter(name="staff").first()
    if staff:
        staff.permissions.remove(*Permission.objects.filter(content_type__app_label="uploads", codename__in=STAFF))


class Migration(migrations.Migration):
    dependencies = [
        ("uploads", "0001_initial"),
        ("yunqiao", "0001_groups"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(grant, revoke)]
