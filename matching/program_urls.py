"""HTML pages of coordinators' pairing programs, mounted at /programs/."""

from django.urls import path

from . import dashboard_views, import_views, program_views, run_views

app_name = "programs"

urlpatterns = [
    # Programs: list, create, edit, overview (program_views)
    path("", program_views.program_list, name="list"),
    path("new/", program_views.program_new, name="new"),
    path("<int:program_id>/", program_views.program_detail, name="detail"),
    path("<int:program_id>/edit/", program_views.program_edit, name="edit"),
    # Enrolment: participants, CSV import and export, invite link (import_views)
    path("join/", import_views.join_code, name="join_code"),
    path("join/<str:code>/", import_views.join, name="join"),
    path("import-template.csv", import_views.import_template, name="import_template"),
    path("<int:program_id>/participants/", import_views.participants, name="participants"),
    path(
        "<int:program_id>/participants/add/",
        import_views.participant_add,
        name="participant_add",
    ),
    path("<int:program_id>/imports/", import_views.import_upload, name="import_upload"),
    path(
        "<int:program_id>/imports/<int:import_id>/",
        import_views.import_status,
        name="import_status",
    ),
    path(
        "<int:program_id>/imports/<int:import_id>/confirm/",
        import_views.import_confirm,
        name="import_confirm",
    ),
    path(
        "<int:program_id>/invite-code/",
        import_views.invite_regenerate,
        name="invite_regenerate",
    ),
    path(
        "<int:program_id>/export/participants.csv",
        import_views.export_participants,
        name="export_participants",
    ),
    path("<int:program_id>/export/pairs.csv", import_views.export_pairs, name="export_pairs"),
    # Match runs: start, progress, compare, review, publish (run_views)
    path("<int:program_id>/matching/", run_views.program_runs, name="runs"),
    path("<int:program_id>/matching/start/", run_views.run_start, name="run_start"),
    path("<int:program_id>/matching/compare/", run_views.run_compare, name="run_compare"),
    path("<int:program_id>/matching/rules/", run_views.pair_rule_add, name="pair_rule_add"),
    path(
        "<int:program_id>/matching/rules/<int:rule_id>/undo/",
        run_views.pair_rule_undo,
        name="pair_rule_undo",
    ),
    path("<int:program_id>/runs/<int:run_id>/", run_views.run_review, name="run_review"),
    path(
        "<int:program_id>/runs/<int:run_id>/progress/",
        run_views.run_progress,
        name="run_progress",
    ),
    path(
        "<int:program_id>/runs/<int:run_id>/proposals/<int:proposal_id>/<slug:action>/",
        run_views.proposal_action,
        name="run_proposal",
    ),
    path("<int:program_id>/runs/<int:run_id>/swap/", run_views.run_swap, name="run_swap"),
    path("<int:program_id>/runs/<int:run_id>/assign/", run_views.run_assign, name="run_assign"),
    path("<int:program_id>/runs/<int:run_id>/rerun/", run_views.run_rerun, name="run_rerun"),
    path(
        "<int:program_id>/runs/<int:run_id>/publish/",
        run_views.run_publish,
        name="run_publish",
    ),
    # Dashboard and equity view (dashboard_views)
    path("<int:program_id>/dashboard/", dashboard_views.program_dashboard, name="dashboard"),
    path("<int:program_id>/equity/", dashboard_views.program_equity, name="equity"),
]
