-- Sign-in hardening (issue 11). Wrong second-factor codes are counted on their own, so a
-- right password no longer forgives them; either count reaching the limit locks the account.
ALTER TABLE identity_accounts ADD COLUMN failed_codes BIGINT NOT NULL DEFAULT 0;

-- identity_webauthn_ceremonies also holds 'spent' rows: a sign-in ceremony is no longer stored
-- when it starts (it travels sealed in its id), only marked spent when its answer is accepted.
