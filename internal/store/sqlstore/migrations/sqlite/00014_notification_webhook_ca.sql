-- +goose Up
-- A webhook transport's webhook_ca (authentik's): the certificate-key pair
-- whose certificate is the CA that verifies the webhook server's TLS
-- certificate, instead of the system roots.
ALTER TABLE notification_transports ADD COLUMN webhook_ca TEXT REFERENCES certificate_key_pairs (uuid) ON DELETE SET NULL;

-- +goose Down
ALTER TABLE notification_transports DROP COLUMN webhook_ca;
