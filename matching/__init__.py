"""Finding and pairing: recommendations, requests, programs and match runs."""
