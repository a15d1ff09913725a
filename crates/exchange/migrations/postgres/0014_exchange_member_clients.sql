-- A member may be an X-Road client itself (PR-REST §4.2), not only one of its subsystems:
-- a right or a limit names a member or a subsystem. The exchange checks that the client is
-- registered when it writes one; the foreign keys to subsystems alone go.
ALTER TABLE exchange_rights DROP CONSTRAINT exchange_rights_client_id_fkey;
ALTER TABLE exchange_limits DROP CONSTRAINT exchange_limits_client_id_fkey;
