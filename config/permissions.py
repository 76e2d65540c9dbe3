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


class IsStaffMember(BasePermission):
    def has_permission(self, request, view) -> bool:
        return is_staff_member(request.user)


class IsFieldMember(BasePermission):
    def has_permission(self, request, view) -> bool:
        return is_field_member(request.user)
