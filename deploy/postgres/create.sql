-- PostgreSQL for the hub (Debian: apt-get install postgresql). Run as the postgres superuser,
-- with the password generated into a variable first (it is used twice, never shown):
--   PW=$(openssl rand -hex 24)
--   sudo -u postgres psql -v password="'$PW'" -f deploy/postgres/create.sql
-- The hub creates and migrates its tables itself (`hub migrate`, or at every start) as this
-- owner; nothing else needs superuser rights.
CREATE ROLE intake_hub LOGIN PASSWORD :password;
CREATE DATABASE intake_hub OWNER intake_hub ENCODING 'UTF8' TEMPLATE template0;
\connect intake_hub
ALTER SCHEMA public OWNER TO intake_hub;
-- Then write the URL into /etc/intake-hub/secrets.env (mode 0600; docs/deploy.md §3):
--   echo "HUB__DATABASE__URL=postgresql+asyncpg://intake_hub:$PW@127.0.0.1:5432/intake_hub" \
--       >> /etc/intake-hub/secrets.env; unset PW
