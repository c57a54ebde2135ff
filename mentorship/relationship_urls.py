from django.urls import path

from . import relationship_views as views

app_name = "mentorships"

urlpatterns = [
    path("", views.mentorship_list, name="list"),
    path("accept/<int:request_id>/", views.request_accept, name="accept"),
    path("<int:mentorship_id>/", views.mentorship_detail, name="detail"),
    path("<int:mentorship_id>/agreement/", views.agreement_edit, name="agreement"),
    path("<int:mentorship_id>/agreement/sign/", views.agreement_sign, name="agreement_sign"),
    path("<int:mentorship_id>/checkins/", views.checkin_new, name="checkin_new"),
    path("<int:mentorship_id>/notes/", views.note_add, name="note_add"),
    path("<int:mentorship_id>/notes/<int:note_id>/delete/", views.note_delete, name="note_delete"),
    path("<int:mentorship_id>/end/", views.mentorship_end, name="end"),
    path("<int:mentorship_id>/renew/", views.mentorship_renew, name="renew"),
    path("<int:mentorship_id>/feedback/", views.feedback, name="feedback"),
    path("checkins/<int:checkin_id>/complete/", views.checkin_complete, name="checkin_complete"),
    path("checkins/<int:checkin_id>/invite.ics", views.checkin_ics, name="checkin_ics"),
    path("checkins/<int:checkin_id>/<slug:action>/", views.checkin_action, name="checkin_action"),
    path("pay-it-forward/", views.pay_it_forward, name="pay_it_forward"),
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/<int:date_id>/edit/", views.calendar, name="calendar_edit"),
    path("calendar/<int:date_id>/remove/", views.calendar_remove, name="calendar_remove"),
]
