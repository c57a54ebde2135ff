"""Mentorship, Agreement, CheckIn, Feedback, Reminder live here (issue: student–mentor journey)."""
