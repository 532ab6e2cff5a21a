"""A worker fleet on a Redis job queue (saq) sharing one Knock budget; see app.py."""
