from django.urls import path

from checkout import views

app_name = "checkout"
urlpatterns = [
    path("done/", views.done, name="done"),
    path("s/<str:session_id>/", views.session_page, name="session"),
    path("pricing/<str:table_id>/", views.price_table_page, name="price_table"),
    path("<str:plan_id>/", views.hosted, name="hosted"),
    path("<str:plan_id>/quote/", views.quote, name="quote"),
]
