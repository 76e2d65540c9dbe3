from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config import views
from uploads.views import root_redirect

urlpatterns = [
    # Printed QR codes of the original system point at /?business_id=…: keep them working.
    path("", root_redirect, name="root"),
    path("home/", views.home, name="home"),
    path("start/", views.landing, name="landing"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/health", views.health, name="health"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # A page for people: signed out, the browser goes to the sign-in page rather than a bare 401.
    path("api/docs/", login_required(SpectacularSwaggerView.as_view(url_name="schema")), name="swagger-ui"),
    path("i18n/", include("django.conf.urls.i18n")),
    # Each app owns its URLs (pages and API) in its own urls.py.
    path("", include("uploads.urls")),
    path("", include("sync.urls")),
    path("", include("projects.urls")),
    path("", include("alerts.urls")),
    path("", include("erpjobs.urls")),
]

handler400 = "config.views.bad_request"
handler404 = "config.views.page_not_found"

admin.site.site_header = "云桥 Yunqiao"
admin.site.site_title = "云桥"
