"""A bundle's checklist for one citizen: each material on file in their vault, or needed."""
from services.catalogue.publishing import compiled_bundle
from services.materials import vault


def checklist(*, code: str, owner_id: str, subject_id: str | None = None) -> dict:
    """The bundle's materials for one citizen: each already on file in their vault, or needed."""

    bundle = compiled_bundle(code)
    on_file = vault.on_file(owner_id=owner_id, types=[m["code"] for m in bundle["materials"]],
                            subject_id=subject_id)
    items = [dict(material, status="on_file" if material["code"] in on_file else "needed",
                  material=on_file.get(material["code"])) for material in bundle["materials"]]
    return {"bundle": code, "version": bundle["version"], "subject": subject_id, "items": items,
            "on_file": sum(item["status"] == "on_file" for item in items),
            "needed": sum(item["status"] == "needed" for item in items)}
