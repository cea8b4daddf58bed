"""Messages that are stored keep what they were made from: a job's error in its row, a progress
event's message in Redis, a watchlist run's note. A French reader sees them in French later,
wherever they are shown (job page, event log, banner, Jobs list); the JSON API keeps the
job's error in English; rows and events written before show as they were written."""

import pytest
from sqlalchemy import select, update

from collector import N_
from collector.jobs import lifecycle
from collector.store import Job, WatchlistRun
from collector.worker import Collector
from tests.helpers import JSON, sim_frame

pytestmark = [pytest.mark.usefixtures("french_catalog"), pytest.mark.both_databases]

FR = {"Accept-Language": "fr"}
PERMANENT = "Échec permanent simulé à la tranche 1."


def failed_job(client, settings, db) -> int:
    """A job a collector ran and failed, its error and events as it wrote them."""
    job = client.post("/jobs", data={"symbol": "MSFT", "source": "sim", "interval": "1d", "start": "2024-01-01",
                                     "end": "2024-02-01", "fail": "permanent:0"}, headers=JSON).get_json()["id"]
    Collector(settings, name="c1", db=db).run(burst=True)
    return job


def test_a_job_error_is_shown_in_french_and_stays_english_in_the_api(client, settings, db):
    job_id = failed_job(client, settings, db)
    page = client.get(f"/jobs/{job_id}", headers=FR).get_data(as_text=True)
    assert PERMANENT in page and "Démarré par c1\u00a0: 1 tranche à télécharger." in page  # error and event log
    assert PERMANENT in client.get("/jobs?tab=failed", headers=FR).get_data(as_text=True)
    assert PERMANENT in client.get("/banner", headers=FR).get_data(as_text=True)
    english = client.get(f"/jobs/{job_id}", headers=JSON).get_json()
    assert english["error"] == "Simulated permanent failure at chunk 1."
    french = client.get(f"/jobs/{job_id}", headers={**JSON, **FR}).get_json()
    assert french["error"] == "Simulated permanent failure at chunk 1."  # `error` stays English for scripts
    assert french["events"][-1]["message"] == PERMANENT  # event messages follow the language, like `message`
    assert "message_i18n" not in french["events"][-1]
    assert "Simulated permanent failure" in client.get(f"/jobs/{job_id}").get_data(as_text=True)


def test_a_completed_job_counts_agree_with_each_number_in_french(client, settings, db):
    job_id = client.post("/jobs", data={"symbol": "MSFT", "source": "sim", "interval": "1d", "start": "2024-01-01",
                                        "end": "2024-02-01"}, headers=JSON).get_json()["id"]
    Collector(settings, name="c1", db=db).run(burst=True)
    events = client.get(f"/jobs/{job_id}", headers={**JSON, **FR}).get_json()["events"]
    assert "Terminé, barres\u00a0: 24 nouvelles, 0 mise à jour, 0 inchangée." in [e["message"] for e in events]
    english = client.get(f"/jobs/{job_id}", headers=JSON).get_json()["events"]
    assert "Completed: 24 new, 0 updated, 0 unchanged bars." in [e["message"] for e in english]


def test_rows_and_events_written_before_show_as_they_were(client, db, queue):
    job_id = client.post("/jobs", data={"symbol": "AAPL", "source": "sim", "interval": "1d", "period": "5d"},
                         headers=JSON).get_json()["id"]
    lifecycle.claim(db, job_id, "c1")
    with db.write() as session:
        job = session.get(Job, job_id)
    lifecycle.end(db, job, "c1", "FAILED", "Some old error in English.")
    queue.add_event(job_id, state="FAILED", message="An old event in English.")
    queue.redis.xadd(queue.events_key(job_id), {"state": "RUNNING", "message": "Damaged.", "ts": "1",
                                                "message_i18n": "{not json"})
    page = client.get(f"/jobs/{job_id}", headers=FR).get_data(as_text=True)
    assert "Some old error in English." in page and "An old event in English." in page and "Damaged." in page
    with db.read() as session:
        assert session.scalar(select(Job.error_i18n).where(Job.id == job_id)) is None


def test_a_cancel_that_wins_over_the_last_chunk_is_said_in_french(client, db):
    job_id = client.post("/jobs", data={"symbol": "AAPL", "source": "sim", "interval": "1d", "period": "5d"},
                         headers=JSON).get_json()["id"]
    lifecycle.claim(db, job_id, "c1")
    client.post(f"/jobs/{job_id}/cancel", headers=JSON)
    with db.read() as session:
        job = session.get(Job, job_id)
    ended = lifecycle.end(db, job, "c1", "COMPLETED", last_chunk=(sim_frame("AAPL", "1d", "2024-01-01", "2024-01-05"), 1))
    assert ended.status == "CANCELLED"
    assert "Annulé à la demande." in client.get(f"/jobs/{job_id}", headers=FR).get_data(as_text=True)
    assert client.get(f"/jobs/{job_id}", headers=JSON).get_json()["error"] == "Cancelled on request."


def test_a_run_note_and_a_refused_symbol_are_shown_in_french(client, db):
    client.post("/watchlists", data={"name": "tech", "symbols": "AAPL", "source": "sim", "interval": "1d",
                                     "period": "1mo", "schedule": "none"}, headers=JSON)
    client.post("/watchlists/1/run", headers=JSON)
    client.post("/watchlists/1/run", headers=JSON)  # waits for the first
    why = N_("Yahoo has no data for {symbol}: the symbol may be wrong or delisted", symbol="ZZZ")
    with db.write() as session:
        first = session.scalars(select(WatchlistRun).order_by(WatchlistRun.id)).first()
        session.execute(update(WatchlistRun).where(WatchlistRun.id == first.id).values(
            problems={"ZZZ": str(why)}, problems_i18n={"ZZZ": why.as_dict()}))
    page = client.get("/watchlists/1", headers=FR).get_data(as_text=True)
    assert "Attend la fin de l&#39;exécution n°1." in page
    assert "Yahoo n&#39;a pas de données pour ZZZ" in page
    runs = client.get("/watchlists/1", headers={**JSON, **FR}).get_json()["runs"]
    assert runs[0]["note"] == "Waits for run #1 to finish." and runs[1]["problems"]["ZZZ"].startswith("Yahoo has no")
