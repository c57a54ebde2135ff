"""MentorRequest, Program, Enrollment, MatchRun, Proposal live here (later issues)."""
