"""The Endpoints controller: every Service with a selector gets an Endpoints object of its pods."""
