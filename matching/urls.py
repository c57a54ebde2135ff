from django.urls import path

from . import request_views, views

app_name = "matching"

urlpatterns = [
    path("recommendations/", views.recommendations, name="recommendations"),
    path("recommendations/top/", views.recommendations_top, name="recommendations_top"),
    path("requests/", request_views.request_list, name="requests"),
    path("requests/new/", request_views.request_new, name="request_new"),
    path(
        "requests/<int:request_id>/<slug:action>/",
        request_views.request_action,
        name="request_action",
    ),
    path("inbox/", request_views.inbox, name="inbox"),
    path("mentors/", views.mentor_browse, name="mentors"),
    path("mentors/<int:profile_id>/bookmark/", views.bookmark, name="bookmark"),
    path("saved/", views.saved_mentors, name="saved_mentors"),
]
