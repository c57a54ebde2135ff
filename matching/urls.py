from django.urls import path

from . import request_views, safety_views, views

app_name = "matching"

urlpatterns = [
    path("recommendations/", views.recommendations, name="recommendations"),
    path("recommendations/top/", views.recommendations_top, name="recommendations_top"),
    path("requests/", request_views.request_list, name="requests"),
    path("requests/new/", request_views.request_new, name="request_new"),
    path(
        "requests/<int:request_id>/report/",
        safety_views.request_report,
        name="request_report",
    ),
    path("requests/<int:request_id>/block/", safety_views.request_block, name="request_block"),
    path(
        "requests/<int:request_id>/<slug:action>/",
        request_views.request_action,
        name="request_action",
    ),
    path("inbox/", request_views.inbox, name="inbox"),
    path("mentors/", views.mentor_browse, name="mentors"),
    path("mentors/search/", views.mentor_search, name="mentor_search"),
    path("mentors/<int:profile_id>/bookmark/", views.bookmark, name="bookmark"),
    path("saved/", views.saved_mentors, name="saved_mentors"),
    path("safety/", safety_views.safety_page, name="safety"),
    path("safety/blocks/<int:block_id>/remove/", safety_views.block_remove, name="block_remove"),
]
