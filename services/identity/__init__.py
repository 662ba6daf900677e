"""Who is who: citizens, family members, staff, partners, sign-in and tokens (the lowest domain)."""
