"""Public-service portal: citizens' applications, payments and ratings."""
