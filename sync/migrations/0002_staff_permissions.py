from django.contrib.auth.management import create_permissions
from django.db import migrations

# Staff run syncs and read what was synced: they view everything here and change days and
# batches (cancel, retry); synced documents are written only by the sync itself.
MANAGED = ("syncday", "syncbatch", "syncbatchday")
DOCUMENTS = ("salesorder", "purchaseorder", "purchasearrival", "receivable", "materialstock", "productionorder")


def codenames():
    return [f"view_{model}" for model in MANAGED + DOCUMENTS] + [f"change_{model}" for model in MANAGED]


def grant_staff(apps, schema_editor):
    # Permissions are normally created after migrate; create ours now so they can be granted.
    app_config = apps.get_app_config("sync")
    app_config.models_module = True  # the migration state's stub says "no models" otherwise
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    staff, _ = Group.objects.get_or_create(name="staff")
    staff.permissions.add(*Permission.objects.filter(content_type__app_label="sync", codename__in=codenames()))


def revoke_staff(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    staff = Group.objects.filter(name="staff").first()
    if staff:
        staff.permissions.remove(*Permission.objects.filter(content_type__app_label="sync", codename__in=codenames()))


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0001_initial"),
        ("yunqiao", "0001_groups"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(grant_staff, revoke_staff)]
