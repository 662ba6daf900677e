"""`flask users ...`: staff accounts from the command line, and the development accounts."""
import logging

import click
from flask import current_app

from common import crypto
from models.catalogue import Department
from models.user import User
from services.errors import DomainError
from services.identity import staff_accounts
from services.regions import divisions

log = logging.getLogger(__name__)

DEV_PASSWORD = "onething-dev"  # noqa: S105 (documented development-only password)  # nosec B105
# The newborn bundle's departments: officers for them even before the catalogue is seeded.
NEWBORN_DEPARTMENTS = ("health", "community_health", "public_security", "medical_insurance",
                       "taxation", "hrss")
DEV_REGION = "330381"  # Ruian
# Hangzhou Shangcheng: a second county, to see one region's officers never see another's tasks.
SECOND_REGION = "330102"
DEV_STATION = "ruian-hospital"


def _dev_regions() -> list[str]:
    """Where development officers work besides Ruian: Shangcheng, and the cities and the
    province above both (their city- and province-level matters)."""
    found = []
    for code in [*divisions.ancestry(DEV_REGION)[1:], *divisions.ancestry(SECOND_REGION)]:
        if code not in found:
            found.append(code)
    return found


def seed_development_accounts() -> list[str]:
    """`officer.<department>` in Ruian for every seeded department, `officer.<department>.
    <region>` where the department exists in Shangcheng (330102) or in the cities and province
    above Ruian and Shangcheng, `clerk.ruian-hospital`, `agent` (the
    service desk of Ruian) and `admin`, password `onething-dev`;
    existing accounts are left alone. Never in production."""
    if current_app.config["APP_ENV"] == "production":
        raise RuntimeError("development accounts are never created in production")
    regions = {d.code: set(d.regions or []) for d in Department.objects.only("code", "regions")}
    departments = sorted(regions) or list(NEWBORN_DEPARTMENTS)
    wanted = [dict(username=f"officer.{code}", role="officer", department=code,
                   region=DEV_REGION, name=f"Officer ({code})") for code in departments]
    wanted += [dict(username=f"officer.{code}.{region}", role="officer", department=code,
                    region=region, name=f"Officer ({code}, {region})")
               for region in _dev_regions() for code in departments
               if region in regions.get(code, ())]
    wanted += [dict(username=f"clerk.{DEV_STATION}", role="clerk", station=DEV_STATION,
                    region=DEV_REGION, name="Clerk (Ruian hospital)"),
               dict(username="agent", role="agent", region=DEV_REGION,
                    name="Service desk (Ruian)"),
               dict(username="admin", role="admin", name="Administrator")]
    existing = set(User.objects(username__in=[w["username"] for w in wanted])
                   .scalar("username"))
    created = []
    hashed = None  # one password for them all: hashed once (argon2 is slow on purpose)
    for account in wanted:
        if account["username"] in existing:
            continue
        hashed = hashed or crypto.hash_secret(DEV_PASSWORD)
        staff_accounts.create_staff(password=DEV_PASSWORD, created_by="seed", locale="zh-CN",
                              check_department=False, password_hash=hashed, **account)
        created.append(account["username"])
    if created:
        log.info("development accounts created: %s", ", ".join(created))
    return created


@click.group("users")
def group():
    """Staff accounts: officers, station clerks, service desk agents and admins."""


@group.command("create-staff")
@click.option("--username", required=True, help="e.g. officer.public_security.2")
@click.option("--role", required=True,
              type=click.Choice(["officer", "clerk", "agent", "admin"]))
@click.option("--department", help="officers: department code")
@click.option("--region", help="officers and agents: where they work; clerks: the station's "
                                "region; admins: the region they manage (a division code, e.g. "
                                "330381)")
@click.option("--station", help="clerks: service station code, e.g. ruian-hospital")
@click.option("--name", help="display name")
@click.option("--locale", type=click.Choice(["zh-CN", "en"]), default="zh-CN",
              show_default=True)
@click.password_option(help="at least 10 characters; asked for when not given")
def create_staff(username, role, department, region, station, name, locale, password):
    """Create a staff account (the department must exist in the catalogue)."""
    try:
        if region:
            divisions.get(region)
        user = staff_accounts.create_staff(username=username, password=password, role=role,
                                     department=department, region=region, station=station,
                                     name=name, locale=locale, created_by="cli")
    except DomainError as exc:
        details = "; ".join(f"{field}: {' '.join(messages)}"
                            for field, messages in exc.errors.items())
        raise click.ClickException(details or exc.en) from None
    click.echo(f"created {user.role} {user.username} ({user.id})")


@group.command("seed-dev")
def seed_dev():
    """Create the development accounts (password onething-dev); never in production."""
    if current_app.config["APP_ENV"] == "production":
        raise click.ClickException("Development accounts are never created in production.")
    created = seed_development_accounts()
    click.echo(f"created: {', '.join(created)}" if created else "all development accounts exist")
