"""E-office: official documents received and processed."""
