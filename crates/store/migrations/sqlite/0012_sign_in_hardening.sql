-- Sign-in hardening (issue 11). Wrong second-factor codes are counted on their own, so a
-- right password no longer forgives them; either count reaching the limit locks the account.
ALTER TABLE identity_accounts ADD COLUMN failed_codes BIGINT NOT NULL DEFAULT 0;
