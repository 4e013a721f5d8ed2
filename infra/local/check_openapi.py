"""Validate an OpenAPI 3.1 file, then check what openapi-spec-validator 0.9 skips: every
request-body schema is resolved (relative $ref into accepted-events.schema.json) and every
example, inline or externalValue, validates against its schema."""
import json, sys
from pathlib import Path
from jsonschema_path import SchemaPath
from openapi_schema_validator import OAS31Validator, oas31_format_checker
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

spec_file = Path(sys.argv[1]).resolve()
spec, base_uri = read_from_filename(str(spec_file))
validate(spec, base_uri=base_uri)
root = SchemaPath.from_dict(spec, base_uri=base_uri)
checked = 0

def check_media(where, media):
    global checked
    with (media / "schema").resolve() as r:  # raises if the $ref does not resolve
        validator = OAS31Validator(r.contents, _resolver=r.resolver, format_checker=oas31_format_checker)
    examples = []
    if "example" in media:
        examples.append(("example", (media / "example").read_value()))
    if "examples" in media:
        for name, ex in (media / "examples").items():
            ex = ex.read_value()
            if "externalValue" in ex:
                value = json.loads((spec_file.parent / ex["externalValue"]).read_text())
            else:
                value = ex["value"]
            examples.append((name, value))
    if not examples:
        sys.exit(f"{where}: no example")
    for name, value in examples:
        errors = sorted(validator.iter_errors(value), key=str)
        if errors:
            sys.exit(f"{where} example {name}: {errors[0].message} at {list(errors[0].absolute_path)}")
        checked += 1

for path, item in (root / "paths").items():
    for method, op in item.items():
        if method not in ("get", "put", "post", "delete", "patch", "head", "options", "trace"):
            continue
        if "requestBody" in op:
            for mt, media in (op / "requestBody" / "content").items():
                check_media(f"{method.upper()} {path} request {mt}", media)
        for code, resp in (op / "responses").items():
            if "content" in resp:
                for mt, media in (resp / "content").items():
                    check_media(f"{method.upper()} {path} {code} {mt}", media)
print(f"{spec_file.name}: OK ({checked} examples valid against their schemas)")
