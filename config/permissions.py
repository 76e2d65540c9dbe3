"""Who may do what: the `field` and `staff` groups created by migration 0001."""

from rest_framework.permissions import BasePermission

FIELD_GROUP = "field"
STAFF_GROUP = "staff"


def is_staff_member(user) -> bool:
    """Staff operate the system: admin, exports, retries, sync, scheduler."""
    if not user or not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or user.is_staff or user.groups.filter(name=STAFF_GROUP).exists()


def is_field_member(user) -> bool:
    """Field users upload documents and see their history; staff may do the same."""
    if not user or not user.is_authenticated or not user.is_active:
        return False
    return is_staff_member(user) or user.groups.filter(name=FIELD_GROUP).exists()


def ensure_groups(**kwargs) -> None:
    """Create the groups and grant each app's declared permissions (idempotent).

    Runs after every migrate and every test-database flush (post_migrate), so the grants live
    in one declarative place: an app lists them as `group_permissions = {"staff": [codename…]}`
    on its AppConfig.
    """
    from django.apps import apps
    from django.contrib.auth.models import Group, Permission

    groups = {name: Group.objects.get_or_create(name=name)[0] for name in (FIELD_GROUP, STAFF_GROUP)}
    for app_config in apps.get_app_configs():
        for group_name, codenames in getattr(app_config, "group_permissions", {}).items():
            permissions = Permission.objects.filter(content_type__app_label=app_config.label, codename__in=codenames)
            groups[group_name].permissions.add(*permissions)


class IsStaffMember(BasePermission):
    def has_permission(self, request, view) -> bool:
        return is_staff_member(request.user)


class IsFieldMember(BasePermission):
    def has_permission(self, request, view) -> bool:
        return is_field_member(request.user)
