"""Which officer may open a material: one whose department is working on a task that asks for its
type, on an application that holds it — given by the citizen, or issued as an e-licence by
another task of the same application (found through the application the e-licence names)."""
from models.application import Application
from models.connection import database
from models.material import Material
from services.materials import access
from tests import loop_support as loop
from tests import workflow_support as ws


def issued_birth_certificate(parent):
    """A newborn application whose first task issued its e-licence, and whose vaccination task
    (still pending) asks for that e-licence, as a bundle may define it."""
    ws.load_catalogue()
    application = loop.submit_newborn(parent)
    vaccination = application.task_for("vaccination_certificate")
    Application._get_collection().update_one(
        {"_id": application.id},
        {"$push": {"tasks.$[t].material_types": "birth_medical_certificate"}},
        array_filters=[{"t.id": vaccination.id}])
    application = loop.work(application, loop.officers(), "birth_medical_certificate")
    [licence] = application.task_for("birth_medical_certificate").elicences
    return application, Material.objects.get(id=licence)


def test_an_elicence_opens_to_the_department_working_on_a_task_that_asks_for_it(parent):
    application, licence = issued_birth_certificate(parent)

    found = access.officer_task(licence, department="community_health", region="330381")

    assert found is not None
    assert (found.application, found.matter) == (str(application.id), "vaccination_certificate")
    # Not another department, nor the same department in another region.
    assert access.officer_task(licence, department="hrss", region="330381") is None
    assert access.officer_task(licence, department="community_health", region="330300") is None


def test_an_elicence_is_found_through_its_application_on_an_index(parent, monkeypatch):
    application, licence = issued_birth_certificate(parent)
    finds: list[dict] = []
    find = Application._get_collection().__class__.find

    def recorded(self, filter=None, *args, **kwargs):
        if self.name == "applications":
            finds.append(filter)
        return find(self, filter, *args, **kwargs)

    monkeypatch.setattr(Application._get_collection().__class__, "find", recorded)
    assert access.officer_task(licence, department="community_health", region="330381")

    assert finds[-1] == {"_id": application.id}  # the e-licence's application, by its id
    explained = database().command("explain", {"find": "applications", "filter": finds[-1]})
    assert explained["queryPlanner"]["winningPlan"]["stage"] != "COLLSCAN"
