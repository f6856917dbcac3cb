"""SQL database sources (issue 13): connections, browsing, extraction into Bronze."""
