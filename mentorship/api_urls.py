from django.urls import path

from accounts import apis as accounts_apis
from matching import apis as matching_apis
from matching import dashboard_apis, import_apis, run_apis, safety_apis
from mentorship import apis as mentorship_apis

app_name = "api"

urlpatterns = [
    path("auth/token/", accounts_apis.TokenApi.as_view(), name="token"),
    path("me/", accounts_apis.MeApi.as_view(), name="me"),
    path("me/profile/", accounts_apis.MyProfileApi.as_view(), name="my_profile"),
    path("me/demographics/", accounts_apis.MyDemographicsApi.as_view(), name="my_demographics"),
    path(
        "me/notification-settings/",
        accounts_apis.MyNotificationSettingsApi.as_view(),
        name="my_notification_settings",
    ),
    path("me/export/", accounts_apis.MyDataExportApi.as_view(), name="my_data_export"),
    path("me/delete/", accounts_apis.AccountDeleteApi.as_view(), name="my_account_delete"),
    path("calendar/", mentorship_apis.AcademicCalendarApi.as_view(), name="calendar"),
    path("programs/", matching_apis.ProgramListApi.as_view(), name="programs"),
    path("programs/<int:program_id>/", matching_apis.ProgramDetailApi.as_view(), name="program"),
    path(
        "programs/<int:program_id>/participants/",
        matching_apis.ProgramParticipantsApi.as_view(),
        name="program_participants",
    ),
    # Program enrolment: imports, export, invite (matching.import_apis)
    path("programs/join/", import_apis.ProgramJoinApi.as_view(), name="program_join"),
    path(
        "programs/<int:program_id>/invite-code/",
        import_apis.InviteCodeApi.as_view(),
        name="program_invite_code",
    ),
    path(
        "programs/<int:program_id>/imports/",
        import_apis.ImportStartApi.as_view(),
        name="program_imports",
    ),
    path(
        "programs/<int:program_id>/imports/<int:import_id>/",
        import_apis.ImportDetailApi.as_view(),
        name="program_import",
    ),
    path(
        "programs/<int:program_id>/imports/<int:import_id>/confirm/",
        import_apis.ImportConfirmApi.as_view(),
        name="program_import_confirm",
    ),
    path(
        "programs/<int:program_id>/export/participants.csv",
        import_apis.ParticipantsExportApi.as_view(),
        name="program_export_participants",
    ),
    path(
        "programs/<int:program_id>/export/pairs.csv",
        import_apis.PairsExportApi.as_view(),
        name="program_export_pairs",
    ),
    # Program match runs, proposals, publish (matching.run_apis)
    path(
        "programs/<int:program_id>/runs/",
        run_apis.ProgramRunListApi.as_view(),
        name="program_runs",
    ),
    path(
        "programs/<int:program_id>/runs/compare/",
        run_apis.RunCompareApi.as_view(),
        name="program_run_compare",
    ),
    path(
        "programs/<int:program_id>/runs/<int:run_id>/",
        run_apis.RunDetailApi.as_view(),
        name="program_run",
    ),
    path(
        "programs/<int:program_id>/runs/<int:run_id>/proposals/",
        run_apis.RunProposalListApi.as_view(),
        name="program_run_proposals",
    ),
    path(
        "programs/<int:program_id>/runs/<int:run_id>/proposals/<int:proposal_id>/lock/",
        run_apis.ProposalLockApi.as_view(),
        name="program_run_proposal_lock",
    ),
    path(
        "programs/<int:program_id>/runs/<int:run_id>/proposals/<int:proposal_id>/unlock/",
        run_apis.ProposalUnlockApi.as_view(),
        name="program_run_proposal_unlock",
    ),
    path(
        "programs/<int:program_id>/runs/<int:run_id>/proposals/<int:proposal_id>/remove/",
        run_apis.ProposalRemoveApi.as_view(),
        name="program_run_proposal_remove",
    ),
    path(
        "programs/<int:program_id>/runs/<int:run_id>/swap/",
        run_apis.RunSwapApi.as_view(),
        name="program_run_swap",
    ),
    path(
        "programs/<int:program_id>/runs/<int:run_id>/assign/",
        run_apis.RunAssignApi.as_view(),
        name="program_run_assign",
    ),
    path(
        "programs/<int:program_id>/runs/<int:run_id>/publish/",
        run_apis.RunPublishApi.as_view(),
        name="program_run_publish",
    ),
    path(
        "programs/<int:program_id>/pair-rules/",
        run_apis.PairRuleListApi.as_view(),
        name="program_pair_rules",
    ),
    path(
        "programs/<int:program_id>/pair-rules/<int:rule_id>/",
        run_apis.PairRuleDetailApi.as_view(),
        name="program_pair_rule",
    ),
    # Program dashboard and equity figures (matching.dashboard_apis)
    path(
        "programs/<int:program_id>/dashboard/",
        dashboard_apis.ProgramDashboardApi.as_view(),
        name="program_dashboard",
    ),
    path(
        "programs/<int:program_id>/equity/",
        dashboard_apis.ProgramEquityApi.as_view(),
        name="program_equity",
    ),
    path(
        "calendar/<int:date_id>/",
        mentorship_apis.AcademicDateApi.as_view(),
        name="calendar_date",
    ),
    path("mentors/", matching_apis.MentorListApi.as_view(), name="mentors"),
    path("mentors/<int:profile_id>/", accounts_apis.MentorDetailApi.as_view(), name="mentor"),
    path(
        "mentors/<int:profile_id>/track-record/",
        mentorship_apis.MentorTrackRecordApi.as_view(),
        name="mentor_track_record",
    ),
    path("bookmarks/", matching_apis.BookmarkListCreateApi.as_view(), name="bookmarks"),
    path(
        "bookmarks/<int:profile_id>/",
        matching_apis.BookmarkDeleteApi.as_view(),
        name="bookmark",
    ),
    path("specialties/", accounts_apis.SpecialtyListApi.as_view(), name="specialties"),
    path("interests/", accounts_apis.InterestListApi.as_view(), name="interests"),
    path("languages/", accounts_apis.LanguageListApi.as_view(), name="languages"),
    path("recommendations/", matching_apis.RecommendationListApi.as_view(), name="recommendations"),
    path("requests/", matching_apis.RequestListCreateApi.as_view(), name="requests"),
    path("requests/<int:request_id>/", matching_apis.RequestDetailApi.as_view(), name="request"),
    path(
        "requests/<int:request_id>/withdraw/",
        matching_apis.RequestWithdrawApi.as_view(),
        name="request_withdraw",
    ),
    path(
        "requests/<int:request_id>/decline/",
        matching_apis.RequestDeclineApi.as_view(),
        name="request_decline",
    ),
    path(
        "requests/<int:request_id>/ask/", matching_apis.RequestAskApi.as_view(), name="request_ask"
    ),
    path(
        "requests/<int:request_id>/answer/",
        matching_apis.RequestAnswerApi.as_view(),
        name="request_answer",
    ),
    path(
        "requests/<int:request_id>/accept/",
        mentorship_apis.RequestAcceptApi.as_view(),
        name="request_accept",
    ),
    path(
        "requests/<int:request_id>/report/",
        safety_apis.RequestReportApi.as_view(),
        name="request_report",
    ),
    path(
        "requests/<int:request_id>/block/",
        safety_apis.RequestBlockApi.as_view(),
        name="request_block",
    ),
    path("me/blocks/", safety_apis.BlockListApi.as_view(), name="blocks"),
    path("me/blocks/<int:block_id>/", safety_apis.BlockDeleteApi.as_view(), name="block"),
    path("me/reports/", safety_apis.ReportListApi.as_view(), name="reports"),
    path("inbox/", matching_apis.InboxApi.as_view(), name="inbox"),
    path("mentorships/", mentorship_apis.MentorshipListApi.as_view(), name="mentorships"),
    path(
        "mentorships/<int:mentorship_id>/",
        mentorship_apis.MentorshipDetailApi.as_view(),
        name="mentorship",
    ),
    path(
        "mentorships/<int:mentorship_id>/agreement/",
        mentorship_apis.AgreementUpdateApi.as_view(),
        name="agreement",
    ),
    path(
        "mentorships/<int:mentorship_id>/agreement/sign/",
        mentorship_apis.AgreementSignApi.as_view(),
        name="agreement_sign",
    ),
    path(
        "mentorships/<int:mentorship_id>/checkins/",
        mentorship_apis.CheckInCreateApi.as_view(),
        name="checkin_create",
    ),
    path(
        "mentorships/<int:mentorship_id>/notes/",
        mentorship_apis.NoteCreateApi.as_view(),
        name="note_create",
    ),
    path(
        "mentorships/<int:mentorship_id>/end/",
        mentorship_apis.MentorshipEndApi.as_view(),
        name="mentorship_end",
    ),
    path(
        "mentorships/<int:mentorship_id>/renew/",
        mentorship_apis.MentorshipRenewApi.as_view(),
        name="mentorship_renew",
    ),
    path(
        "mentorships/<int:mentorship_id>/feedback/",
        mentorship_apis.FeedbackApi.as_view(),
        name="mentorship_feedback",
    ),
    path(
        "checkins/upcoming/",
        mentorship_apis.UpcomingCheckInListApi.as_view(),
        name="checkins_upcoming",
    ),
    path("checkins/<int:checkin_id>/", mentorship_apis.CheckInUpdateApi.as_view(), name="checkin"),
    path(
        "checkins/<int:checkin_id>/cancel/",
        mentorship_apis.CheckInCancelApi.as_view(),
        name="checkin_cancel",
    ),
    path(
        "checkins/<int:checkin_id>/complete/",
        mentorship_apis.CheckInCompleteApi.as_view(),
        name="checkin_complete",
    ),
    path(
        "checkins/<int:checkin_id>/pulse/",
        mentorship_apis.PulseApi.as_view(),
        name="checkin_pulse",
    ),
    path(
        "checkins/<int:checkin_id>/ics/",
        mentorship_apis.CheckInIcsApi.as_view(),
        name="checkin_ics",
    ),
    path("notes/<int:note_id>/", mentorship_apis.NoteDeleteApi.as_view(), name="note"),
    path("me/mentoring/", mentorship_apis.PayItForwardApi.as_view(), name="pay_it_forward"),
    path("institutions/", accounts_apis.InstitutionListApi.as_view(), name="institutions"),
    path("notifications/", accounts_apis.NotificationListApi.as_view(), name="notifications"),
    path(
        "notifications/<int:notification_id>/read/",
        accounts_apis.NotificationReadApi.as_view(),
        name="notification_read",
    ),
    path(
        "notifications/read-all/",
        accounts_apis.NotificationReadAllApi.as_view(),
        name="notification_read_all",
    ),
]
