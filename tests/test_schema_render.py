"""The Pub/Sub Protocol Buffer schema and the Avro schema rendered from event-v1.schema.json take real events."""

from __future__ import annotations

import copy
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipelines.cli import main
from pipelines.events import validate_event
from pipelines.testing.pubsub import PROJECT, unique_id
from schemas import render
from tests.test_cli import outputs

ROOT = Path(__file__).resolve().parents[1]
fastavro = pytest.importorskip("fastavro")
json_format = pytest.importorskip("google.protobuf.json_format")


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The sample run's events, plus one with every nullable field null (valid under the JSON Schema)."""
    out = tmp_path_factory.mktemp("sample-events")
    assert main(["run", "--sample", "--out", str(out), "--state", str(out / "state")]) == 0
    found = outputs(out)[0]
    assert len(found) == 6
    sparse = copy.deepcopy(found[0])
    sparse.update(summary=None, published_at=None, casualties={"killed": None, "injured": None, "abducted": None})
    sparse["source"].update(feed_url=None, name=None)
    sparse["dedup"]["duplicate_of"] = sparse["event_id"]
    sparse["locations"] = [{"name": "Syria", "country_code": "SY", "admin1": None, "lat": None, "lon": None,
                            "gazetteer_id": "iso3166:SY"}]
    sparse["actors"] = [{"name": "Islamic State", "kind": "terrorist_organization"}]
    validate_event(sparse)
    return [*found, sparse]


@pytest.fixture(scope="module")
def event_class(tmp_path_factory: pytest.TempPathFactory) -> type:
    """The Event message class compiled by protoc from the committed schemas/event-v1.proto."""
    protoc = pytest.importorskip("grpc_tools.protoc")
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    out = tmp_path_factory.mktemp("proto") / "event.pb"
    status = protoc.main(["protoc", f"-I{ROOT / 'schemas'}", f"--descriptor_set_out={out}",
                          str(ROOT / "schemas" / "event-v1.proto")])
    assert status == 0, "protoc could not compile schemas/event-v1.proto"
    files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file
    # what a Pub/Sub PROTOCOL_BUFFER schema may hold: one file, no imports, one top-level message
    assert len(files) == 1 and not files[0].dependency
    assert [m.name for m in files[0].message_type] == ["Event"] and not files[0].enum_type
    pool = descriptor_pool.DescriptorPool()
    pool.Add(files[0])
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("sitrep.v1.Event"))


def test_committed_schema_files_are_rendered_from_the_json_schema():
    done = subprocess.run([sys.executable, "-m", "schemas.render", "--check"], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    properties = render.load_schema()["properties"]
    proto = (ROOT / "schemas/event-v1.proto").read_text()
    assert all(f" {name} = " in proto for name in properties)
    assert [f["name"] for f in json.loads((ROOT / "schemas/event-v1.avsc").read_text())["fields"]] == list(properties)


def test_event_json_parses_as_the_proto_message(events, event_class):
    """Pub/Sub validates a JSON-encoded message against a PROTOCOL_BUFFER schema by parsing it with the proto3
    JSON mapping: the exact bytes sitrep publishes must parse, unknown fields not ignored."""
    from pipelines.messages import event_data

    for event in events:
        message = json_format.Parse(event_data(event).decode("utf-8"), event_class())
        assert message.event_id == event["event_id"]
        assert message.conflict.is_conflict == event["conflict"]["is_conflict"]
        assert [t.code for t in message.topics] == [t["code"] for t in event["topics"]]
        assert [a.name for a in message.actors] == [a["name"] for a in event["actors"]]
        assert message.provenance.connector == message.provenance.Connector.Value(event["provenance"]["connector"])
        for kind in ("killed", "injured", "abducted"):
            stated = event["casualties"][kind]
            assert message.casualties.HasField(kind) == (stated is not None)
            assert not stated or getattr(message.casualties, kind).count == stated["count"]


@pytest.mark.parametrize("breakage", [
    {"unexpected": 1},
    {"revision": "first"},
    {"actors": [{"name": "X", "kind": "aliens"}]},
    {"conflict": {"is_conflict": "yes", "score": 0.5}},
])
def test_what_is_not_an_event_does_not_parse(events, event_class, breakage):
    with pytest.raises(json_format.ParseError):
        json_format.Parse(json.dumps({**events[0], **breakage}), event_class())


def test_avro_schema_takes_the_events_and_round_trips_them(events):
    schema = fastavro.parse_schema(render.render_avro(render.load_schema()))
    for event in events:
        assert fastavro.validate(event, schema, strict=True)
    buffer = io.BytesIO()
    fastavro.writer(buffer, schema, events)
    buffer.seek(0)
    assert list(fastavro.reader(buffer)) == events
    assert not fastavro.validate({**events[0], "revision": "first"}, schema, raise_errors=False)


def test_emulator_validates_avro_json_but_refuses_plain_event_json(pubsub_emulator, events):
    """Why the event topic's schema is the .proto: a topic with the Avro schema and JSON encoding (the only kind
    the emulator implements) takes an event in Avro's JSON encoding but refuses the event JSON sitrep publishes."""
    from google.api_core.exceptions import InvalidArgument
    from google.cloud import pubsub_v1
    from google.pubsub_v1 import Encoding, Schema, SchemaServiceClient

    avsc = render.render_avro(render.load_schema())
    schema = SchemaServiceClient().create_schema(
        parent=f"projects/{PROJECT}", schema_id=unique_id("event-avro"),
        schema=Schema(type_=Schema.Type.AVRO, definition=json.dumps(avsc)))
    publisher = pubsub_v1.PublisherClient()
    topic = publisher.create_topic(request={"name": f"projects/{PROJECT}/topics/{unique_id('avro')}",
                                            "schema_settings": {"schema": schema.name, "encoding": Encoding.JSON}})
    for event in events:
        assert publisher.publish(topic.name, json.dumps(render.to_avro_json(event, avsc)).encode()).result(timeout=30)
    with pytest.raises(InvalidArgument):
        publisher.publish(topic.name, json.dumps(events[0]).encode()).result(timeout=30)


def test_create_resources_with_schema_says_why_the_emulator_cannot(pubsub_emulator, capsys):
    import runpy

    from google.api_core.exceptions import NotFound
    from google.cloud import pubsub_v1

    script = runpy.run_path(str(ROOT / "deploy/pubsub/create_resources.py"))
    topic = unique_id("schema")
    assert script["main"](["--project", PROJECT, "--topic", topic, "--subscription", unique_id("s"), "--schema"]) == 2
    err = capsys.readouterr().err
    assert "emulator does not implement Protocol Buffer schemas" in err and "without --schema" in err
    with pytest.raises(NotFound):  # the schema is made first: nothing is left half-created
        pubsub_v1.PublisherClient().get_topic(topic=f"projects/{PROJECT}/topics/{topic}")
    # without --schema the same command works there
    assert script["main"](["--project", PROJECT, "--topic", topic, "--subscription", unique_id("s")]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"projects/{PROJECT}/topics/{topic}"
