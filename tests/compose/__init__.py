"""Docker-free checks of the docker-compose demo's files (deploy/compose/)."""
