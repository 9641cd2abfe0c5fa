DROP TABLE audit_log;
DROP TABLE devices;
DROP TABLE invites;
DROP TABLE refresh_tokens;
DROP TABLE regions;
DROP TABLE users;
DROP TABLE campaigns;
