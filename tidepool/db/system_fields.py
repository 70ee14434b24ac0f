# ruff: noqa: E501  (recorded strings: templates and notes are kept whole)
"""Directus 12.4.1's description of its own system fields: the ``meta`` it lists for each in ``/fields``.

Recorded from a fresh Directus 12.4.1 (``GET /fields`` as its admin), these are facts about the protocol, kept
as data: per system collection, its fields in Directus's ``sort`` order (a field's ``sort`` is its place
here), each with what its ``meta`` says beyond ``BASE``. ``tidepool.db.system_meta`` describes a system field
from here; the fields whose ``special`` has ``no-data`` (dividers, groups, notices of Directus's own forms)
are aliases that ``tidepool.db.introspect`` adds to their collection, so they are listed as on Directus.
"""

from __future__ import annotations

from typing import Any

# What a system field's meta says unless its row below says otherwise.
BASE: dict[str, Any] = {
    "special": None,
    "interface": None,
    "options": None,
    "display": None,
    "display_options": None,
    "readonly": False,
    "hidden": False,
    "width": "full",
    "group": None,
    "translations": None,
    "note": None,
    "conditions": None,
    "required": False,
    "searchable": True,
}

FIELDS: dict[str, tuple[tuple[str, dict[str, Any]], ...]] = {
    "directus_access": (
        ("id", {"special": ["uuid"], "hidden": True, "width": "half"}),
        ("role", {"special": ["m2o"], "hidden": True, "width": "half"}),
        ("user", {"special": ["m2o"], "hidden": True, "width": "half"}),
        ("policy", {"special": ["m2o"], "hidden": True, "width": "half"}),
        ("sort", {"hidden": True, "width": "half"}),
    ),
    "directus_activity": (
        ("id", {"width": "half"}),
        ("item", {"width": "half"}),
        (
            "action",
            {
                "display": "labels",
                "display_options": {
                    "choices": [
                        {
                            "text": "$t:field_options.directus_activity.create",
                            "value": "create",
                            "foreground": "var(--theme--primary)",
                            "background": "var(--theme--primary-subdued)",
                        },
                        {
                            "text": "$t:field_options.directus_activity.update",
                            "value": "update",
                            "foreground": "var(--blue)",
                            "background": "var(--blue-25)",
                        },
                        {
                            "text": "$t:field_options.directus_activity.delete",
                            "value": "delete",
                            "foreground": "var(--theme--danger)",
                            "background": "var(--danger-25)",
                        },
                        {
                            "text": "$t:field_options.directus_activity.login",
                            "value": "login",
                            "foreground": "var(--purple)",
                            "background": "var(--purple-25)",
                        },
                    ]
                },
                "width": "half",
            },
        ),
        ("collection", {"display": "collection", "display_options": {"icon": True}, "width": "half"}),
        (
            "timestamp",
            {
                "special": ["date-created", "cast-timestamp"],
                "options": {"relative": True},
                "display": "datetime",
                "width": "half",
            },
        ),
        ("user", {"display": "user", "width": "half"}),
        ("user_agent", {"display": "formatted-value", "display_options": {"font": "monospace"}, "width": "half"}),
        ("origin", {"display": "formatted-value", "display_options": {"font": "monospace"}, "width": "half"}),
        ("ip", {"display": "formatted-value", "display_options": {"font": "monospace"}, "width": "half"}),
        (
            "revisions",
            {
                "special": ["o2m"],
                "interface": "list-o2m",
                "options": {"fields": ["collection", "item"]},
                "width": "half",
            },
        ),
    ),
    "directus_collections": (
        (
            "collection_divider",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {"icon": "box", "title": "$t:field_options.directus_collections.collection_setup"},
            },
        ),
        ("collection", {"interface": "input", "options": {"font": "monospace"}, "readonly": True, "width": "half"}),
        (
            "note",
            {
                "interface": "input",
                "options": {"placeholder": "$t:field_options.directus_collections.note_placeholder"},
                "width": "half",
            },
        ),
        (
            "status",
            {
                "interface": "select-dropdown",
                "options": {
                    "choices": [{"text": "$t:active", "value": "active"}, {"text": "$t:inactive", "value": "inactive"}]
                },
                "width": "half",
            },
        ),
        ("icon", {"interface": "select-icon", "width": "half"}),
        (
            "color",
            {
                "interface": "select-color",
                "options": {"placeholder": "$t:interfaces.select-color.placeholder"},
                "width": "half",
            },
        ),
        ("display_template", {"interface": "system-display-template", "options": {"collectionField": "collection"}}),
        (
            "hidden",
            {
                "special": ["cast-boolean"],
                "interface": "boolean",
                "options": {"label": "$t:field_options.directus_collections.hidden_label"},
                "width": "half",
            },
        ),
        (
            "singleton",
            {
                "special": ["cast-boolean"],
                "interface": "boolean",
                "options": {"label": "$t:singleton_label"},
                "width": "half",
            },
        ),
        (
            "translations",
            {
                "special": ["cast-json"],
                "interface": "list",
                "options": {
                    "template": "{{ translation }} ({{ language }})",
                    "fields": [
                        {
                            "field": "language",
                            "name": "$t:language",
                            "type": "string",
                            "schema": {"default_value": "en-US"},
                            "meta": {"interface": "system-language", "width": "half", "required": True},
                        },
                        {
                            "field": "translation",
                            "name": "$t:field_options.directus_collections.collection_name",
                            "type": "string",
                            "meta": {
                                "interface": "input",
                                "width": "half",
                                "required": True,
                                "options": {
                                    "placeholder": "$t:field_options.directus_collections.translation_placeholder"
                                },
                            },
                        },
                        {
                            "field": "singular",
                            "name": "$t:field_options.directus_collections.singular_unit",
                            "type": "string",
                            "meta": {
                                "interface": "input",
                                "width": "half",
                                "options": {
                                    "placeholder": "$t:field_options.directus_collections.translation_placeholder"
                                },
                            },
                        },
                        {
                            "field": "plural",
                            "name": "$t:field_options.directus_collections.plural_unit",
                            "type": "string",
                            "meta": {
                                "interface": "input",
                                "width": "half",
                                "options": {
                                    "placeholder": "$t:field_options.directus_collections.translation_placeholder"
                                },
                            },
                        },
                    ],
                },
                "note": "$t:field_options.directus_collections.collection_naming_translations_note",
            },
        ),
        (
            "content_translations_divider",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {
                    "icon": "translate",
                    "title": "$t:field_options.directus_collections.content_translations_divider",
                },
            },
        ),
        (
            "translations_enable_helper",
            {"special": ["alias", "no-data"], "interface": "system-collections-translations"},
        ),
        (
            "preview_divider",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {"icon": "preview", "title": "$t:field_options.directus_collections.preview_divider"},
            },
        ),
        (
            "preview_url",
            {
                "interface": "system-display-template",
                "options": {"collectionField": "collection", "injectVersionField": True},
            },
        ),
        (
            "content_versioning_divider",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {
                    "icon": "published_with_changes",
                    "title": "$t:field_options.directus_collections.content_versioning_divider",
                },
            },
        ),
        (
            "versioning",
            {
                "special": ["cast-boolean"],
                "interface": "boolean",
                "options": {"label": "$t:field_options.directus_collections.enable_versioning"},
                "width": "half",
            },
        ),
        (
            "autosave_revision_interval",
            {
                "interface": "select-dropdown",
                "options": {
                    "choices": [
                        {"text": "$t:field_options.directus_collections.interval_default", "value": None},
                        {"text": "30s", "value": 30},
                        {"text": "1m", "value": 60},
                        {"text": "5m", "value": 300},
                        {"text": "10m", "value": 600},
                    ]
                },
                "width": "half",
                "conditions": [
                    {
                        "rule": {"_or": [{"versioning": {"_neq": True}}, {"accountability": {"_neq": "all"}}]},
                        "readonly": True,
                    }
                ],
            },
        ),
        (
            "archive_divider",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {"icon": "archive", "title": "$t:field_options.directus_collections.archive_divider"},
            },
        ),
        (
            "archive_field",
            {
                "interface": "system-field",
                "options": {
                    "collectionField": "collection",
                    "allowNone": True,
                    "placeholder": "$t:field_options.directus_collections.archive_field_placeholder",
                    "typeAllowList": ["string", "boolean"],
                },
                "width": "half",
            },
        ),
        (
            "archive_app_filter",
            {
                "special": ["cast-boolean"],
                "interface": "boolean",
                "options": {"label": "$t:field_options.directus_collections.archive_app_filter"},
                "width": "half",
            },
        ),
        (
            "archive_value",
            {
                "interface": "input",
                "options": {
                    "font": "monospace",
                    "iconRight": "archive",
                    "placeholder": "$t:field_options.directus_collections.archive_value",
                },
                "width": "half",
            },
        ),
        (
            "unarchive_value",
            {
                "interface": "input",
                "options": {
                    "font": "monospace",
                    "iconRight": "unarchive",
                    "placeholder": "$t:field_options.directus_collections.unarchive_value",
                },
                "width": "half",
            },
        ),
        (
            "sort_divider",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {"icon": "sort", "title": "$t:field_options.directus_collections.sort_divider"},
            },
        ),
        (
            "sort_field",
            {
                "interface": "system-field",
                "options": {
                    "collectionField": "collection",
                    "placeholder": "$t:field_options.directus_collections.sort_field",
                    "typeAllowList": ["float", "decimal", "integer"],
                    "allowNone": True,
                    "allowPrimaryKey": False,
                    "allowForeignKeys": False,
                },
                "width": "half",
            },
        ),
        (
            "accountability_divider",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {
                    "icon": "admin_panel_settings",
                    "title": "$t:field_options.directus_collections.accountability_divider",
                },
            },
        ),
        (
            "accountability",
            {
                "interface": "select-dropdown",
                "options": {
                    "choices": [
                        {"text": "$t:field_options.directus_collections.track_activity_revisions", "value": "all"},
                        {"text": "$t:field_options.directus_collections.only_track_activity", "value": "activity"},
                        {"text": "$t:field_options.directus_collections.do_not_track_anything", "value": None},
                    ]
                },
                "width": "half",
            },
        ),
        (
            "duplication_divider",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {
                    "icon": "content_copy",
                    "title": "$t:field_options.directus_collections.duplication_divider",
                },
            },
        ),
        (
            "item_duplication_fields",
            {"special": ["cast-json"], "interface": "system-field-tree", "options": {"collectionField": "collection"}},
        ),
        ("sort", {"hidden": True}),
        ("group", {"hidden": True}),
        ("collapse", {"hidden": True}),
    ),
    "directus_comments": (
        ("id", {"special": ["uuid"], "readonly": True, "hidden": True}),
        ("collection", {}),
        ("item", {}),
        ("comment", {}),
        ("date_created", {"special": ["date-created", "cast-timestamp"]}),
        ("date_updated", {"special": ["date-updated", "cast-timestamp"]}),
        ("user_created", {"special": ["user-created"]}),
        ("user_updated", {"special": ["user-updated"]}),
    ),
    "directus_dashboards": (
        ("id", {"special": ["uuid"]}),
        ("name", {}),
        ("icon", {}),
        ("panels", {"special": ["o2m"]}),
        ("date_created", {"special": ["date-created", "cast-timestamp"]}),
        ("user_created", {"special": ["user-created"]}),
        ("note", {}),
        ("color", {}),
    ),
    "directus_deployment_projects": (
        ("id", {"special": ["uuid"]}),
        ("deployment", {}),
        ("external_id", {}),
        ("name", {}),
        ("url", {}),
        ("framework", {}),
        ("deployable", {"special": ["cast-boolean"]}),
        ("runs", {"special": ["o2m"]}),
        ("date_created", {"special": ["date-created", "cast-timestamp"]}),
        ("user_created", {"special": ["user-created"]}),
    ),
    "directus_deployment_runs": (
        ("id", {"special": ["uuid"]}),
        ("project", {}),
        ("external_id", {}),
        ("target", {}),
        ("status", {}),
        ("url", {}),
        ("started_at", {"special": ["cast-timestamp"]}),
        ("completed_at", {"special": ["cast-timestamp"]}),
        ("date_created", {"special": ["date-created", "cast-timestamp"]}),
        ("user_created", {"special": ["user-created"]}),
    ),
    "directus_deployments": (
        ("id", {"special": ["uuid"]}),
        ("provider", {}),
        ("credentials", {"special": ["encrypt"]}),
        ("options", {"special": ["cast-json"]}),
        ("projects", {"special": ["o2m"]}),
        ("webhook_ids", {"special": ["cast-json"]}),
        ("last_synced_at", {"special": ["cast-timestamp"]}),
        ("date_created", {"special": ["date-created", "cast-timestamp"]}),
        ("user_created", {"special": ["user-created"]}),
    ),
    "directus_extensions": (
        ("id", {"special": ["uuid"]}),
        ("folder", {}),
        ("source", {}),
        ("bundle", {}),
        ("enabled", {"special": ["cast-boolean"]}),
    ),
    "directus_fields": (
        ("id", {"width": "half"}),
        ("collection", {"width": "half"}),
        ("field", {"width": "half"}),
        ("special", {"special": ["cast-csv"], "hidden": True, "width": "half"}),
        ("interface", {"width": "half"}),
        ("options", {"special": ["cast-json"], "hidden": True, "width": "half"}),
        ("display", {"width": "half"}),
        ("display_options", {"special": ["cast-json"], "hidden": True, "width": "half"}),
        ("readonly", {"special": ["cast-boolean"], "hidden": True, "width": "half"}),
        ("hidden", {"special": ["cast-boolean"], "hidden": True, "width": "half"}),
        ("required", {"special": ["cast-boolean"], "hidden": True, "width": "half"}),
        ("searchable", {"special": ["cast-boolean"], "hidden": True, "width": "half"}),
        ("sort", {"width": "half"}),
        ("width", {"width": "half"}),
        ("group", {"width": "half"}),
        ("translations", {"special": ["cast-json"], "hidden": True, "width": "half"}),
        ("note", {"width": "half"}),
        ("conditions", {"special": ["cast-json"], "hidden": True}),
        ("validation", {"special": ["cast-json"], "hidden": True}),
        ("validation_message", {"hidden": True}),
    ),
    "directus_files": (
        ("id", {"special": ["uuid"], "interface": "input", "hidden": True}),
        (
            "title",
            {
                "interface": "input",
                "options": {"iconRight": "title", "placeholder": "$t:field_options.directus_files.title"},
            },
        ),
        (
            "description",
            {"interface": "input-multiline", "options": {"placeholder": "$t:field_options.directus_files.description"}},
        ),
        (
            "tags",
            {
                "special": ["cast-json"],
                "interface": "tags",
                "options": {"iconRight": "local_offer"},
                "display": "labels",
                "display_options": {"choices": None, "format": False},
            },
        ),
        (
            "location",
            {
                "interface": "input",
                "options": {"iconRight": "place", "placeholder": "$t:field_options.directus_files.location"},
                "width": "half",
            },
        ),
        ("storage", {"interface": "input", "options": {"iconRight": "storage"}, "readonly": True, "width": "half"}),
        (
            "focal_point_divider",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {"icon": "image_search", "title": "$t:field_options.directus_files.focal_point_divider"},
            },
        ),
        ("focal_point_x", {"width": "half"}),
        ("focal_point_y", {"width": "half"}),
        (
            "storage_divider",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {"icon": "insert_drive_file", "title": "$t:field_options.directus_files.storage_divider"},
            },
        ),
        (
            "filename_disk",
            {
                "interface": "input",
                "options": {"iconRight": "publish", "placeholder": "$t:field_options.directus_files.filename_disk"},
                "readonly": True,
                "width": "half",
            },
        ),
        (
            "filename_download",
            {
                "interface": "input",
                "options": {"iconRight": "get_app", "placeholder": "$t:field_options.directus_files.filename_download"},
                "width": "half",
            },
        ),
        ("metadata", {"special": ["cast-json"], "hidden": True}),
        ("type", {"display": "mime-type", "readonly": True}),
        ("filesize", {"display": "filesize", "readonly": True}),
        (
            "created_on",
            {
                "special": ["date-created"],
                "interface": "datetime",
                "display": "datetime",
                "readonly": True,
                "width": "half",
            },
        ),
        (
            "modified_by",
            {
                "special": ["user-updated"],
                "interface": "select-dropdown-m2o",
                "options": {"template": "{{avatar.$thumbnail}} {{first_name}} {{last_name}}"},
                "display": "user",
                "readonly": True,
                "width": "half",
            },
        ),
        (
            "modified_on",
            {
                "special": ["date-created", "date-updated"],
                "interface": "datetime",
                "display": "datetime",
                "readonly": True,
                "width": "half",
            },
        ),
        ("embed", {"hidden": True, "width": "half"}),
        ("uploaded_by", {"special": ["user-created"], "display": "user", "hidden": True, "width": "half"}),
        ("uploaded_on", {"display": "datetime", "hidden": True, "width": "half"}),
        (
            "folder",
            {
                "special": ["m2o"],
                "display": "related-values",
                "display_options": {"template": "{{ name }}"},
                "readonly": True,
                "width": "half",
            },
        ),
        ("width", {"readonly": True, "width": "half"}),
        ("height", {"readonly": True, "width": "half"}),
        ("charset", {"readonly": True, "width": "half"}),
        ("duration", {"readonly": True, "width": "half"}),
        ("tus_id", {"hidden": True, "width": "half"}),
        ("tus_data", {"special": ["cast-json"], "hidden": True, "width": "half"}),
    ),
    "directus_flows": (
        ("id", {"special": ["uuid"]}),
        ("name", {}),
        ("icon", {}),
        ("color", {}),
        ("description", {}),
        ("status", {}),
        ("trigger", {}),
        ("accountability", {}),
        ("options", {"special": ["cast-json"]}),
        ("operation", {}),
        ("operations", {"special": ["o2m"]}),
        ("date_created", {"special": ["date-created"]}),
        ("user_created", {"special": ["user-created"]}),
        (
            "folder",
            {
                "special": ["m2o"],
                "display": "related-values",
                "display_options": {"template": "{{ name }}"},
                "readonly": True,
                "width": "half",
            },
        ),
    ),
    "directus_folders": (
        ("id", {"special": ["uuid"], "interface": "input", "width": "half"}),
        ("parent", {"width": "half"}),
        ("name", {}),
        (
            "type",
            {
                "interface": "select-dropdown",
                "options": {
                    "choices": [{"value": "files", "text": "$t:file_library"}, {"value": "flows", "text": "$t:flows"}]
                },
                "hidden": True,
                "width": "half",
            },
        ),
    ),
    "directus_migrations": (
        ("version", {}),
        ("name", {}),
        ("timestamp", {}),
    ),
    "directus_notifications": (
        ("id", {}),
        ("timestamp", {"special": ["date-created", "cast-timestamp"]}),
        ("status", {}),
        ("recipient", {}),
        ("sender", {}),
        ("subject", {}),
        ("message", {}),
        ("collection", {}),
        ("item", {}),
    ),
    "directus_oauth_clients": (
        ("client_name", {"width": "half"}),
        ("redirect_uris", {"special": ["cast-json"], "display": "labels", "display_options": {"format": False}}),
        ("grant_types", {"special": ["cast-json"], "display": "labels", "display_options": {"format": False}}),
        ("date_created", {"special": ["date-created", "cast-timestamp"], "width": "half"}),
        ("client_id", {"hidden": True, "width": "half"}),
        ("token_endpoint_auth_method", {"width": "half"}),
        ("client_secret_hash", {"special": ["conceal"], "hidden": True}),
        (
            "tokens",
            {
                "special": ["o2m"],
                "interface": "list-o2m",
                "options": {"fields": ["user", "expires_at", "date_created"]},
                "hidden": True,
            },
        ),
        (
            "registration_type",
            {
                "display": "labels",
                "display_options": {
                    "choices": [
                        {
                            "text": "$t:field_options.directus_oauth_clients.registration_type_dcr",
                            "value": "dcr",
                            "foreground": "var(--theme--primary)",
                            "background": "var(--theme--primary-subdued)",
                        },
                        {
                            "text": "$t:field_options.directus_oauth_clients.registration_type_cimd",
                            "value": "cimd",
                            "foreground": "var(--blue)",
                            "background": "var(--blue-25)",
                        },
                    ]
                },
                "width": "half",
            },
        ),
        ("client_uri", {"readonly": True, "width": "half"}),
        ("logo_uri", {"readonly": True, "width": "half"}),
        ("tos_uri", {"readonly": True, "width": "half"}),
        ("policy_uri", {"readonly": True, "width": "half"}),
        ("metadata_fetched_at", {"special": ["cast-timestamp"], "hidden": True, "width": "half"}),
        ("metadata_expires_at", {"special": ["cast-timestamp"], "hidden": True, "width": "half"}),
        ("metadata_etag", {"hidden": True, "width": "half"}),
    ),
    "directus_oauth_codes": (
        ("id", {"special": ["uuid"], "width": "half"}),
        ("code_hash", {"special": ["conceal"], "width": "half"}),
        ("client", {"special": ["m2o"], "width": "half"}),
        ("user", {"special": ["m2o"], "width": "half"}),
        ("redirect_uri", {}),
        ("resource", {"width": "half"}),
        ("code_challenge", {"width": "half"}),
        ("code_challenge_method", {"width": "half"}),
        ("scope", {"width": "half"}),
        ("expires_at", {"special": ["cast-timestamp"], "width": "half"}),
        ("used_at", {"special": ["cast-timestamp"], "width": "half"}),
    ),
    "directus_oauth_consents": (
        ("id", {"special": ["uuid"], "width": "half"}),
        ("user", {"special": ["m2o"], "width": "half"}),
        ("client", {"special": ["m2o"], "width": "half"}),
        ("redirect_uri", {}),
        ("scope", {"width": "half"}),
        ("date_created", {"special": ["date-created", "cast-timestamp"], "width": "half"}),
        ("date_updated", {"special": ["date-updated", "cast-timestamp"], "width": "half"}),
    ),
    "directus_oauth_tokens": (
        ("id", {"special": ["uuid"], "width": "half"}),
        ("client", {"special": ["m2o"], "width": "half"}),
        ("user", {"special": ["m2o"], "width": "half"}),
        ("session", {"special": ["conceal"], "width": "half"}),
        ("previous_session", {"special": ["conceal"], "width": "half"}),
        ("resource", {"width": "half"}),
        ("code_hash", {"special": ["conceal"], "width": "half"}),
        ("scope", {"width": "half"}),
        ("expires_at", {"special": ["cast-timestamp"], "width": "half"}),
        ("date_created", {"special": ["date-created", "cast-timestamp"], "width": "half"}),
    ),
    "directus_operations": (
        ("id", {"special": ["uuid"]}),
        ("name", {}),
        ("key", {}),
        ("type", {}),
        ("position_x", {}),
        ("position_y", {}),
        ("options", {"special": ["cast-json"]}),
        ("resolve", {}),
        ("reject", {}),
        ("flow", {}),
        ("date_created", {"special": ["date-created"]}),
        ("user_created", {"special": ["user-created"]}),
    ),
    "directus_panels": (
        ("id", {"special": ["uuid"]}),
        ("name", {}),
        ("icon", {}),
        ("color", {}),
        ("note", {}),
        ("type", {}),
        ("show_header", {"special": ["cast-boolean"]}),
        ("position_x", {}),
        ("position_y", {}),
        ("width", {}),
        ("height", {}),
        ("options", {"special": ["cast-json"]}),
        ("date_created", {"special": ["date-created", "cast-timestamp"]}),
        ("user_created", {"special": ["user-created"]}),
        ("dashboard", {}),
    ),
    "directus_permissions": (
        ("permissions", {"special": ["cast-json"], "hidden": True, "width": "half"}),
        ("presets", {"special": ["cast-json"], "hidden": True, "width": "half"}),
        ("policy", {"special": ["m2o"], "interface": "select-dropdown-m2o", "hidden": True, "width": "half"}),
        ("collection", {"width": "half"}),
        ("id", {"width": "half"}),
        ("fields", {"special": ["cast-csv"], "width": "half"}),
        ("action", {"width": "half"}),
        ("validation", {"special": ["cast-json"], "width": "half"}),
    ),
    "directus_policies": (
        ("id", {"special": ["uuid"], "hidden": True}),
        (
            "name",
            {"display": "formatted-value", "display_options": {"translate": True}, "width": "half", "required": True},
        ),
        ("icon", {"interface": "select-icon", "display": "icon", "width": "half"}),
        (
            "description",
            {
                "interface": "input",
                "options": {"placeholder": "$t:field_options.directus_policies.description"},
                "display": "formatted-value",
                "display_options": {"translate": True},
            },
        ),
        ("permissions", {"special": ["o2m"], "interface": "system-permissions"}),
        ("app_access", {"special": ["cast-boolean"], "interface": "boolean", "width": "half"}),
        ("admin_access", {"special": ["cast-boolean"], "interface": "boolean", "width": "half"}),
        (
            "ip_access",
            {
                "special": ["cast-csv"],
                "interface": "tags",
                "options": {"placeholder": "$t:field_options.directus_policies.ip_access"},
            },
        ),
        (
            "enforce_tfa",
            {
                "special": ["cast-boolean"],
                "interface": "boolean",
                "width": "half",
                "note": "$t:field_options.directus_policies.enforce_tfa",
            },
        ),
        (
            "assigned_to_divider",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {"title": "$t:field_options.directus_policies.assigned_to"},
            },
        ),
        (
            "users",
            {
                "special": ["m2m"],
                "interface": "list-m2m",
                "options": {
                    "template": "{{ user.first_name }} {{ user.last_name }}",
                    "junctionFilter": {"user": {"_nnull": True}},
                },
            },
        ),
        (
            "roles",
            {
                "special": ["m2m"],
                "interface": "list-m2m",
                "options": {"template": "{{ role.name }}", "junctionFilter": {"role": {"_nnull": True}}},
            },
        ),
    ),
    "directus_presets": (
        ("filter", {"special": ["cast-json"], "hidden": True}),
        ("layout_query", {"special": ["cast-json"], "hidden": True}),
        ("layout_options", {"special": ["cast-json"], "hidden": True}),
        (
            "role",
            {
                "special": ["m2o"],
                "display": "related-values",
                "display_options": {"template": "{{ name }}"},
                "width": "half",
            },
        ),
        (
            "user",
            {
                "special": ["m2o"],
                "display": "related-values",
                "display_options": {"template": "{{ email }}"},
                "width": "half",
            },
        ),
        ("id", {"width": "half"}),
        ("bookmark", {"width": "half"}),
        ("icon", {"display": "icon", "width": "half"}),
        ("color", {"display": "color", "width": "half"}),
        ("search", {"width": "half"}),
        ("collection", {"width": "half"}),
        ("layout", {"width": "half"}),
        ("refresh_interval", {}),
    ),
    "directus_relations": (
        ("id", {"width": "half"}),
        ("many_collection", {"width": "half"}),
        ("many_field", {"width": "half"}),
        ("one_collection", {"width": "half"}),
        ("one_field", {"width": "half"}),
        ("one_collection_field", {"width": "half"}),
        ("one_allowed_collections", {"special": ["cast-csv"], "width": "half"}),
        ("junction_field", {"width": "half"}),
        ("sort_field", {"width": "half"}),
        ("one_deselect_action", {"width": "half"}),
    ),
    "directus_revisions": (
        ("id", {"width": "half"}),
        ("activity", {"width": "half"}),
        ("collection", {"width": "half"}),
        ("item", {"width": "half"}),
        ("data", {"special": ["cast-json"], "hidden": True}),
        ("delta", {"special": ["cast-json"], "hidden": True}),
        ("parent", {"width": "half"}),
        ("version", {"width": "half"}),
    ),
    "directus_roles": (
        ("id", {"special": ["uuid"], "interface": "input", "hidden": True}),
        (
            "name",
            {
                "interface": "input",
                "options": {"placeholder": "$t:field_options.directus_roles.name"},
                "display": "formatted-value",
                "display_options": {"translate": True},
                "width": "half",
                "required": True,
            },
        ),
        ("icon", {"interface": "select-icon", "display": "icon", "width": "half"}),
        (
            "description",
            {
                "interface": "input",
                "options": {"placeholder": "$t:field_options.directus_roles.description"},
                "display": "formatted-value",
                "display_options": {"translate": True},
            },
        ),
        (
            "parent",
            {
                "special": ["m2o"],
                "interface": "select-dropdown-m2o",
                "options": {"template": "{{ name }}", "filter": {"id": {"_neq": "{{ id }}"}}},
                "display": "related-values",
                "display_options": {"template": "{{ name }}"},
                "width": "half",
                "note": "$t:field_options.directus_roles.parent_note",
            },
        ),
        (
            "children",
            {
                "special": ["o2m"],
                "interface": "list-o2m-tree-view",
                "options": {
                    "displayTemplate": "{{ name }}",
                    "enableCreate": False,
                    "fields": ["name"],
                    "filter": {"id": {"_neq": "{{ id }}"}},
                },
                "display": "related-values",
                "display_options": {"template": "{{ name }}"},
                "hidden": True,
                "note": "$t:field_options.directus_roles.children_note",
            },
        ),
        (
            "policies",
            {"special": ["m2m"], "interface": "list-m2m", "options": {"layout": "list"}, "display": "related-values"},
        ),
        ("users_group", {"special": ["alias", "no-data", "group"], "interface": "group-raw"}),
        (
            "users_divider",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {"icon": "people_alt", "title": "$t:users"},
                "group": "users_group",
            },
        ),
        (
            "users",
            {
                "special": ["o2m"],
                "interface": "list-o2m",
                "options": {"fields": ["first_name", "last_name"]},
                "group": "users_group",
            },
        ),
    ),
    "directus_sessions": (
        ("token", {"width": "half"}),
        ("user", {"width": "half"}),
        ("expires", {"width": "half"}),
        ("ip", {"width": "half"}),
        ("user_agent", {"width": "half"}),
        ("origin", {"width": "half"}),
        ("share", {"width": "half"}),
        ("next_token", {"width": "half"}),
        ("oauth_client", {"width": "half"}),
    ),
    "directus_settings": (
        ("id", {"hidden": True}),
        (
            "project_name",
            {
                "interface": "input",
                "options": {
                    "iconRight": "title",
                    "placeholder": "$t:field_options.directus_settings.project_name_placeholder",
                },
                "width": "half",
            },
        ),
        (
            "project_descriptor",
            {
                "interface": "input",
                "options": {
                    "iconRight": "title",
                    "placeholder": "$t:field_options.directus_settings.project_name_placeholder",
                },
                "width": "half",
            },
        ),
        (
            "project_url",
            {
                "interface": "input",
                "options": {"iconRight": "link", "placeholder": "https://example.com"},
                "width": "half",
            },
        ),
        (
            "default_language",
            {
                "interface": "system-language",
                "options": {"iconRight": "language", "placeholder": "en-US"},
                "width": "half",
            },
        ),
        (
            "default_save_action",
            {
                "interface": "select-dropdown",
                "options": {
                    "placeholder": "$t:save_and_quit",
                    "choices": [
                        {"value": "save-and-quit", "text": "$t:save_and_quit"},
                        {"value": "save-and-stay", "text": "$t:save_and_stay"},
                        {"value": "save-and-create-new", "text": "$t:save_and_create_new"},
                    ],
                },
                "width": "half",
                "note": "$t:default_save_action_note",
            },
        ),
        ("project_owner", {"interface": "system-owner", "width": "half"}),
        ("project_usage", {"hidden": True}),
        ("org_name", {"hidden": True}),
        ("product_updates", {"special": ["cast-boolean"], "hidden": True}),
        ("project_status", {"hidden": True}),
        (
            "modules_divider",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {"icon": "menu_open", "title": "$t:modules"},
            },
        ),
        ("module_bar", {"special": ["cast-json"], "interface": "system-modules"}),
        (
            "visual_editor_divider",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {"icon": "edit_square", "title": "$t:visual_editor"},
            },
        ),
        (
            "visual_editor_urls",
            {
                "special": ["cast-json"],
                "interface": "list",
                "options": {
                    "template": "{{url}}",
                    "fields": [
                        {
                            "field": "url",
                            "name": "$t:url",
                            "schema": {"is_nullable": False},
                            "meta": {
                                "interface": "system-display-template",
                                "required": True,
                                "options": {
                                    "placeholder": "https://example.com/?version={{$version}}",
                                    "fields": [
                                        {
                                            "field": "$version",
                                            "name": "$t:version",
                                            "collection": "",
                                            "key": "$version",
                                            "path": "$version",
                                            "type": "string",
                                        }
                                    ],
                                },
                            },
                        }
                    ],
                },
            },
        ),
        (
            "security_divider",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {"icon": "shield", "title": "$t:security"},
            },
        ),
        (
            "auth_password_policy",
            {
                "interface": "select-dropdown",
                "options": {
                    "choices": [
                        {"value": None, "text": "$t:field_options.directus_settings.auth_password_policy.none_text"},
                        {
                            "value": "/^.{8,}$/",
                            "text": "$t:field_options.directus_settings.auth_password_policy.weak_text",
                        },
                        {
                            "value": "/(?=^.{8,}$)(?=.*\\d)(?=.*[a-z])(?=.*[A-Z])(?=.*[!@#$%^&*()_+}{';'?>.<,])(?!.*\\s).*$/",
                            "text": "$t:field_options.directus_settings.auth_password_policy.strong_text",
                        },
                    ],
                    "allowOther": True,
                },
                "width": "half",
            },
        ),
        (
            "auth_login_attempts",
            {"interface": "input", "options": {"iconRight": "lock", "placeholder": "$t:unlimited"}, "width": "half"},
        ),
        (
            "public_registration_divider",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {"icon": "person_add", "title": "$t:fields.directus_settings.public_registration"},
            },
        ),
        (
            "public_registration",
            {
                "special": ["cast-boolean"],
                "interface": "boolean",
                "options": {"label": "$t:enabled"},
                "width": "half",
                "note": "$t:fields.directus_settings.public_registration_note",
            },
        ),
        (
            "public_registration_role",
            {
                "special": ["m2o"],
                "interface": "select-dropdown-m2o",
                "options": {"template": "{{ name }}"},
                "display": "related-values",
                "display_options": {"template": "{{ name }}"},
                "width": "half",
                "note": "$t:fields.directus_settings.public_registration_role_note",
            },
        ),
        (
            "public_registration_verify_email",
            {
                "special": ["cast-boolean"],
                "interface": "boolean",
                "options": {"label": "$t:enabled"},
                "width": "half",
                "note": "$t:fields.directus_settings.public_registration_verify_email_note",
            },
        ),
        (
            "public_registration_email_filter",
            {
                "special": ["cast-json"],
                "interface": "system-filter",
                "options": {"collectionName": "directus_users", "collectionField": "email", "fieldName": "email"},
                "width": "half",
                "note": "$t:fields.directus_settings.public_registration_email_filter_note",
            },
        ),
        (
            "files_divider",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {"icon": "folder", "title": "$t:fields.directus_settings.files_and_thumbnails"},
            },
        ),
        (
            "storage_asset_transform",
            {
                "interface": "select-dropdown",
                "options": {
                    "choices": [
                        {"value": "all", "text": "$t:fields.directus_settings.transformations_all"},
                        {"value": "none", "text": "$t:fields.directus_settings.transformations_none"},
                        {"value": "presets", "text": "$t:fields.directus_settings.transformations_presets"},
                    ]
                },
                "width": "half",
            },
        ),
        (
            "storage_default_folder",
            {"interface": "system-folder", "width": "half", "note": "$t:interfaces.system-folder.field_hint"},
        ),
        (
            "storage_asset_presets",
            {
                "special": ["cast-json"],
                "interface": "list",
                "options": {
                    "fields": [
                        {
                            "field": "key",
                            "name": "$t:key",
                            "type": "string",
                            "schema": {"is_nullable": False},
                            "meta": {
                                "interface": "input",
                                "options": {"slug": True, "onlyOnCreate": False},
                                "width": "full",
                                "required": True,
                            },
                        },
                        {
                            "field": "fit",
                            "name": "$t:field_options.directus_settings.storage_asset_presets.fit_label",
                            "type": "string",
                            "schema": {"is_nullable": False},
                            "meta": {
                                "interface": "select-dropdown",
                                "options": {
                                    "choices": [
                                        {
                                            "value": "contain",
                                            "text": "$t:field_options.directus_settings.storage_asset_presets.fit.contain_text",
                                        },
                                        {
                                            "value": "cover",
                                            "text": "$t:field_options.directus_settings.storage_asset_presets.fit.cover_text",
                                        },
                                        {
                                            "value": "inside",
                                            "text": "$t:field_options.directus_settings.storage_asset_presets.fit.fit_text",
                                        },
                                        {
                                            "value": "outside",
                                            "text": "$t:field_options.directus_settings.storage_asset_presets.fit.outside_text",
                                        },
                                    ]
                                },
                                "width": "half",
                            },
                        },
                        {
                            "field": "width",
                            "name": "$t:width",
                            "type": "integer",
                            "schema": {"is_nullable": False},
                            "meta": {"interface": "input", "width": "half"},
                        },
                        {
                            "field": "height",
                            "name": "$t:height",
                            "type": "integer",
                            "schema": {"is_nullable": False},
                            "meta": {"interface": "input", "width": "half"},
                        },
                        {
                            "field": "quality",
                            "type": "integer",
                            "name": "$t:quality",
                            "schema": {"default_value": 80, "is_nullable": False},
                            "meta": {
                                "interface": "slider",
                                "options": {"max": 100, "min": 0, "step": 1},
                                "width": "half",
                            },
                        },
                        {
                            "field": "withoutEnlargement",
                            "name": "$t:field_options.directus_settings.storage_asset_presets.upscaling",
                            "type": "boolean",
                            "schema": {"default_value": False},
                            "meta": {"interface": "boolean", "width": "half", "options": {"label": "$t:no_upscale"}},
                        },
                        {
                            "field": "format",
                            "name": "$t:format",
                            "type": "string",
                            "schema": {"is_nullable": False, "default_value": ""},
                            "meta": {
                                "interface": "select-dropdown",
                                "options": {
                                    "allowNone": True,
                                    "choices": [
                                        {"value": "auto", "text": "Auto"},
                                        {"value": "jpeg", "text": "JPEG"},
                                        {"value": "png", "text": "PNG"},
                                        {"value": "webp", "text": "WebP"},
                                        {"value": "tiff", "text": "Tiff"},
                                        {"value": "avif", "text": "AVIF"},
                                    ],
                                },
                                "width": "half",
                            },
                        },
                        {
                            "field": "transforms",
                            "name": "$t:field_options.directus_settings.additional_transforms",
                            "type": "json",
                            "schema": {"is_nullable": False, "default_value": []},
                            "meta": {
                                "note": "$t:field_options.directus_settings.transforms_note",
                                "interface": "json",
                                "options": {
                                    "template": '[\n  ["blur", 45],\n  ["grayscale"],\n  ["extend", { "right": 500, "background": "rgb(255, 0, 0)" }]\n]\n',
                                    "placeholder": '[\n  ["blur", 45],\n  ["grayscale"],\n  ["extend", { "right": 500, "background": "rgb(255, 0, 0)" }]\n]\n',
                                },
                                "width": "full",
                            },
                        },
                    ],
                    "template": "{{key}}",
                },
            },
        ),
        (
            "reporting_divider",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {"icon": "feedback", "title": "$t:fields.directus_settings.reporting"},
            },
        ),
        (
            "report_feature_url",
            {
                "interface": "input",
                "options": {"iconRight": "link", "placeholder": "https://example.com/feature"},
                "width": "half",
            },
        ),
        (
            "report_bug_url",
            {
                "interface": "input",
                "options": {"iconRight": "link", "placeholder": "https://example.com/bug"},
                "width": "half",
            },
        ),
        (
            "report_error_url",
            {
                "interface": "system-display-template",
                "options": {
                    "placeholder": "https://example.com/error",
                    "fields": [
                        {
                            "name": "Error",
                            "field": "error",
                            "key": "error",
                            "path": "error",
                            "children": [
                                {"name": "Name", "field": "name", "key": "error.name", "path": "error.name"},
                                {
                                    "name": "Message",
                                    "field": "message",
                                    "key": "error.message",
                                    "path": "error.message",
                                },
                            ],
                        },
                        {
                            "name": "Navigator",
                            "field": "navigator",
                            "key": "navigator",
                            "path": "navigator",
                            "children": [
                                {
                                    "name": "Language",
                                    "field": "language",
                                    "key": "navigator.language",
                                    "path": "navigator.language",
                                },
                                {
                                    "name": "User Agent",
                                    "field": "userAgent",
                                    "key": "navigator.userAgent",
                                    "path": "navigator.userAgent",
                                },
                            ],
                        },
                        {
                            "name": "Route",
                            "field": "route",
                            "key": "route",
                            "path": "route",
                            "children": [
                                {
                                    "name": "Full Path",
                                    "field": "fullPath",
                                    "key": "route.fullPath",
                                    "path": "route.fullPath",
                                },
                                {"name": "Hash", "field": "hash", "key": "route.hash", "path": "route.hash"},
                                {"name": "Name", "field": "name", "key": "route.name", "path": "route.name"},
                                {"name": "Path", "field": "path", "key": "route.path", "path": "route.path"},
                                {"name": "Query", "field": "query", "key": "route.query", "path": "route.query"},
                            ],
                        },
                        {
                            "name": "User",
                            "field": "user",
                            "key": "user",
                            "path": "user",
                            "children": [
                                {"name": "ID", "field": "id", "key": "user.id", "path": "user.id"},
                                {
                                    "name": "First Name",
                                    "field": "first_name",
                                    "key": "user.first_name",
                                    "path": "user.first_name",
                                },
                                {
                                    "name": "Last Name",
                                    "field": "last_name",
                                    "key": "user.last_name",
                                    "path": "user.last_name",
                                },
                                {"name": "Status", "field": "status", "key": "user.status", "path": "user.status"},
                                {"name": "Title", "field": "title", "key": "user.title", "path": "user.title"},
                                {
                                    "name": "Description",
                                    "field": "description",
                                    "key": "user.description",
                                    "path": "user.description",
                                },
                                {
                                    "name": "Location",
                                    "field": "location",
                                    "key": "user.location",
                                    "path": "user.location",
                                },
                            ],
                        },
                        {
                            "name": "Role",
                            "field": "role",
                            "key": "role",
                            "path": "role",
                            "children": [
                                {"name": "ID", "field": "id", "key": "role.id", "path": "role.id"},
                                {"name": "Name", "field": "name", "key": "role.name", "path": "role.name"},
                            ],
                        },
                    ],
                },
            },
        ),
        (
            "collaborative_editing_divider",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {"icon": "podcasts", "title": "$t:fields.directus_settings.collaborative_editing"},
            },
        ),
        (
            "collaborative_editing_enabled",
            {
                "special": ["cast-boolean"],
                "interface": "boolean",
                "options": {"label": "$t:enabled"},
                "width": "half",
                "note": "$t:fields.directus_settings.collaborative_editing_note",
            },
        ),
        (
            "map_divider",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {"icon": "map", "title": "$t:fields.directus_settings.mapping"},
            },
        ),
        (
            "mapbox_key",
            {
                "interface": "input",
                "options": {
                    "icon": "key",
                    "title": "$t:field_options.directus_settings.mapbox_key",
                    "placeholder": "$t:field_options.directus_settings.mapbox_placeholder",
                    "iconLeft": "vpn_key",
                    "font": "monospace",
                },
            },
        ),
        (
            "basemaps",
            {
                "special": ["cast-json"],
                "interface": "list",
                "options": {
                    "template": "{{name}}",
                    "fields": [
                        {
                            "field": "name",
                            "name": "$t:name",
                            "schema": {"is_nullable": False},
                            "meta": {
                                "interface": "text-input",
                                "required": True,
                                "options": {
                                    "placeholder": "$t:field_options.directus_settings.basemaps_name_placeholder"
                                },
                            },
                        },
                        {
                            "field": "type",
                            "name": "$t:type",
                            "meta": {
                                "interface": "select-dropdown",
                                "options": {
                                    "choices": [
                                        {
                                            "value": "raster",
                                            "text": "$t:field_options.directus_settings.basemaps_raster",
                                        },
                                        {"value": "tile", "text": "$t:field_options.directus_settings.basemaps_tile"},
                                        {"value": "style", "text": "$t:field_options.directus_settings.basemaps_style"},
                                    ]
                                },
                            },
                        },
                        {
                            "field": "url",
                            "name": "$t:url",
                            "schema": {"is_nullable": False},
                            "meta": {
                                "interface": "text-input",
                                "options": {"placeholder": "http://{a-c}.tile.openstreetmap.org/{z}/{x}/{y}.png"},
                            },
                        },
                        {
                            "field": "tileSize",
                            "name": "$t:tile_size",
                            "type": "integer",
                            "schema": {"is_nullable": True},
                            "meta": {
                                "interface": "input",
                                "options": {"placeholder": "512"},
                                "conditions": [
                                    {"name": "typeNeqRaster", "rule": {"type": {"_neq": "raster"}}, "hidden": True}
                                ],
                            },
                        },
                        {
                            "field": "attribution",
                            "name": "$t:fields.directus_settings.attribution",
                            "type": "string",
                            "schema": {"is_nullable": True},
                            "meta": {
                                "interface": "input",
                                "options": {"placeholder": "$t:fields.directus_settings.attribution_placeholder"},
                            },
                        },
                    ],
                },
            },
        ),
        (
            "image_editor",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {"icon": "image", "title": "$t:fields.directus_settings.image_editor"},
            },
        ),
        (
            "custom_aspect_ratios",
            {
                "special": ["cast-json"],
                "interface": "list",
                "options": {
                    "template": "{{text}}",
                    "fields": [
                        {
                            "field": "text",
                            "name": "$t:text",
                            "type": "string",
                            "meta": {
                                "interface": "text-input",
                                "width": "half",
                                "required": True,
                                "options": {"placeholder": "$t:text"},
                            },
                        },
                        {
                            "field": "value",
                            "name": "$t:value",
                            "type": "float",
                            "meta": {
                                "interface": "input",
                                "width": "half",
                                "required": True,
                                "options": {"placeholder": "$t:value"},
                            },
                        },
                    ],
                },
            },
        ),
        ("project_id", {"hidden": True}),
        ("theming_group", {"special": ["alias", "no-data", "group"], "interface": "group-raw"}),
        (
            "branding_divider",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {"icon": "palette", "title": "$t:fields.directus_settings.branding"},
                "group": "theming_group",
            },
        ),
        (
            "project_color",
            {
                "interface": "select-color",
                "width": "half",
                "group": "theming_group",
                "note": "$t:field_options.directus_settings.project_color_note",
            },
        ),
        (
            "project_logo",
            {
                "interface": "file",
                "width": "half",
                "group": "theming_group",
                "note": "$t:field_options.directus_settings.project_logo_note",
            },
        ),
        ("public_foreground", {"interface": "file", "width": "half", "group": "theming_group"}),
        ("public_background", {"interface": "file", "width": "half", "group": "theming_group"}),
        (
            "public_favicon",
            {
                "interface": "file",
                "width": "half",
                "group": "theming_group",
                "note": "$t:field_options.directus_settings.project_favicon_note",
            },
        ),
        (
            "public_note",
            {
                "interface": "input",
                "options": {
                    "placeholder": "$t:field_options.directus_settings.public_note_placeholder",
                    "iconRight": "info",
                },
                "width": "half",
                "group": "theming_group",
            },
        ),
        (
            "theming_divider",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {"icon": "palette", "title": "$t:fields.directus_settings.theming"},
                "group": "theming_group",
            },
        ),
        (
            "default_appearance",
            {
                "interface": "select-dropdown",
                "options": {
                    "choices": [
                        {"value": "auto", "text": "$t:appearance_auto"},
                        {"value": "light", "text": "$t:appearance_light"},
                        {"value": "dark", "text": "$t:appearance_dark"},
                    ]
                },
                "width": "half",
                "group": "theming_group",
            },
        ),
        (
            "default_theme_light",
            {"interface": "system-theme", "options": {"appearance": "light"}, "group": "theming_group"},
        ),
        (
            "theme_light_overrides",
            {
                "special": ["cast-json"],
                "interface": "system-theme-overrides",
                "options": {"appearance": "light"},
                "group": "theming_group",
            },
        ),
        (
            "default_theme_dark",
            {"interface": "system-theme", "options": {"appearance": "dark"}, "group": "theming_group"},
        ),
        (
            "theme_dark_overrides",
            {
                "special": ["cast-json"],
                "interface": "system-theme-overrides",
                "options": {"appearance": "dark"},
                "group": "theming_group",
            },
        ),
        (
            "custom_css",
            {
                "interface": "input-code",
                "options": {
                    "language": "css",
                    "lineNumber": True,
                    "template": "#app, #main-content, body {\n  --v-button-background-color: #6644FF !important;\n  --v-button-background-color-hover: #5E41EC !important;\n}\n",
                },
                "group": "theming_group",
            },
        ),
        ("ai_group", {"special": ["alias", "no-data", "group"], "interface": "group-raw"}),
        (
            "ai_divider",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {"icon": "chat", "title": "$t:ai_assistant"},
                "group": "ai_group",
            },
        ),
        (
            "ai_notice",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-notice",
                "options": {"icon": "info", "text": "$t:fields.directus_settings.ai_notice"},
                "group": "ai_group",
            },
        ),
        (
            "ai_openai_api_key",
            {
                "special": ["encrypt"],
                "interface": "input-hash",
                "options": {"iconRight": "lock", "masked": True, "autocomplete": "off"},
                "width": "half",
                "group": "ai_group",
            },
        ),
        (
            "ai_openai_allowed_models",
            {
                "special": ["cast-json"],
                "interface": "select-multiple-dropdown",
                "options": {
                    "allowOther": True,
                    "choices": [
                        {"text": "GPT-4o Mini", "value": "gpt-4o-mini"},
                        {"text": "GPT-4.1 Nano", "value": "gpt-4.1-nano"},
                        {"text": "GPT-4.1 Mini", "value": "gpt-4.1-mini"},
                        {"text": "GPT-4.1", "value": "gpt-4.1"},
                        {"text": "GPT-5 Nano", "value": "gpt-5-nano"},
                        {"text": "GPT-5 Mini", "value": "gpt-5-mini"},
                        {"text": "GPT-5", "value": "gpt-5"},
                        {"text": "GPT-5.1", "value": "gpt-5.1"},
                        {"text": "GPT-5.1 Chat", "value": "gpt-5.1-chat-latest"},
                        {"text": "GPT-5.2", "value": "gpt-5.2"},
                        {"text": "GPT-5.2 Chat", "value": "gpt-5.2-chat-latest"},
                        {"text": "GPT-5.2 Pro", "value": "gpt-5.2-pro"},
                        {"text": "GPT-5.4 Nano", "value": "gpt-5.4-nano"},
                        {"text": "GPT-5.4 Mini", "value": "gpt-5.4-mini"},
                        {"text": "GPT-5.4", "value": "gpt-5.4"},
                        {"text": "GPT-5.4 Pro", "value": "gpt-5.4-pro"},
                        {"text": "GPT-5.5", "value": "gpt-5.5"},
                        {"text": "GPT-5.5 Pro", "value": "gpt-5.5-pro"},
                    ],
                },
                "width": "half",
                "group": "ai_group",
            },
        ),
        (
            "ai_anthropic_api_key",
            {
                "special": ["encrypt"],
                "interface": "input-hash",
                "options": {"iconRight": "lock", "masked": True, "autocomplete": "off"},
                "width": "half",
                "group": "ai_group",
            },
        ),
        (
            "ai_anthropic_allowed_models",
            {
                "special": ["cast-json"],
                "interface": "select-multiple-dropdown",
                "options": {
                    "allowOther": True,
                    "choices": [
                        {"text": "Claude Haiku 4.5", "value": "claude-haiku-4-5"},
                        {"text": "Claude Sonnet 4.6", "value": "claude-sonnet-4-6"},
                        {"text": "Claude Opus 4.7", "value": "claude-opus-4-7"},
                        {"text": "Claude Opus 4.6", "value": "claude-opus-4-6"},
                    ],
                },
                "width": "half",
                "group": "ai_group",
            },
        ),
        (
            "ai_google_api_key",
            {
                "special": ["encrypt"],
                "interface": "input-hash",
                "options": {"iconRight": "lock", "masked": True, "autocomplete": "off"},
                "width": "half",
                "group": "ai_group",
            },
        ),
        (
            "ai_google_allowed_models",
            {
                "special": ["cast-json"],
                "interface": "select-multiple-dropdown",
                "options": {
                    "allowOther": True,
                    "choices": [
                        {"text": "Gemini 3 Pro Preview", "value": "gemini-3-pro-preview"},
                        {"text": "Gemini 3 Flash Preview", "value": "gemini-3-flash-preview"},
                        {"text": "Gemini 2.5 Pro", "value": "gemini-2.5-pro"},
                        {"text": "Gemini 2.5 Flash", "value": "gemini-2.5-flash"},
                        {"text": "Gemini 3.1 Pro Preview", "value": "gemini-3.1-pro-preview"},
                        {"text": "Gemini 3.1 Flash Lite Preview", "value": "gemini-3.1-flash-lite-preview"},
                        {"text": "Gemini 2.5 Flash Lite", "value": "gemini-2.5-flash-lite"},
                    ],
                },
                "width": "half",
                "group": "ai_group",
            },
        ),
        (
            "ai_system_prompt",
            {
                "interface": "input-rich-text-md",
                "options": {"label": "$t:fields.directus_settings.ai_system_prompt"},
                "group": "ai_group",
                "note": "$t:fields.directus_settings.ai_system_prompt_note",
            },
        ),
        (
            "ai_translation_divider",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {
                    "inlineTitle": True,
                    "color": "var(--theme--foreground-subdued)",
                    "title": "$t:translation",
                },
                "group": "ai_group",
            },
        ),
        (
            "ai_translations_notice",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-notice",
                "options": {"icon": "diamond", "text": "$t:fields.directus_settings.ai_translations_notice"},
                "group": "ai_group",
            },
        ),
        (
            "ai_translation_default_model",
            {
                "interface": "select-dropdown",
                "options": {"allowNone": True, "choices": []},
                "width": "half",
                "group": "ai_group",
                "note": "$t:fields.directus_settings.ai_translation_default_model_note",
            },
        ),
        (
            "ai_translation_glossary",
            {
                "special": ["cast-json"],
                "interface": "list",
                "options": {
                    "template": "{{term}}",
                    "limit": 200,
                    "fields": [
                        {
                            "field": "term",
                            "name": "$t:fields.directus_settings.ai_glossary_term",
                            "type": "string",
                            "schema": {"is_nullable": False},
                            "meta": {
                                "interface": "input",
                                "required": True,
                                "width": "half",
                                "options": {"placeholder": "$t:fields.directus_settings.ai_glossary_term_placeholder"},
                            },
                        },
                        {
                            "field": "translation_note",
                            "name": "$t:fields.directus_settings.ai_glossary_note",
                            "type": "string",
                            "schema": {"is_nullable": True},
                            "meta": {
                                "interface": "input",
                                "required": False,
                                "width": "half",
                                "options": {"placeholder": "$t:fields.directus_settings.ai_glossary_note_placeholder"},
                            },
                        },
                    ],
                },
                "group": "ai_group",
                "note": "$t:fields.directus_settings.ai_translation_glossary_note",
            },
        ),
        (
            "ai_translation_style_guide",
            {
                "interface": "input-rich-text-md",
                "options": {
                    "label": "$t:fields.directus_settings.ai_translation_style_guide",
                    "placeholder": "$t:fields.directus_settings.ai_translation_style_guide_placeholder",
                },
                "group": "ai_group",
                "note": "$t:fields.directus_settings.ai_translation_style_guide_note",
            },
        ),
        (
            "ai_openai_compatible_divider",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {
                    "inlineTitle": True,
                    "color": "var(--theme--foreground-subdued)",
                    "title": "$t:fields.directus_settings.ai_openai_compatible",
                },
                "group": "ai_group",
            },
        ),
        (
            "ai_openai_compatible_notice",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-notice",
                "options": {"icon": "diamond", "text": "$t:fields.directus_settings.ai_openai_compatible_notice"},
                "group": "ai_group",
            },
        ),
        (
            "ai_openai_compatible_name",
            {
                "interface": "input",
                "options": {"placeholder": "LM Studio, Ollama, etc."},
                "width": "half",
                "group": "ai_group",
            },
        ),
        (
            "ai_openai_compatible_base_url",
            {
                "interface": "input",
                "options": {"placeholder": "http://localhost:1234/v1"},
                "width": "half",
                "group": "ai_group",
            },
        ),
        (
            "ai_openai_compatible_api_key",
            {
                "special": ["encrypt"],
                "interface": "input-hash",
                "options": {"iconRight": "lock", "masked": True, "autocomplete": "off"},
                "width": "half",
                "group": "ai_group",
            },
        ),
        (
            "ai_openai_compatible_headers",
            {
                "special": ["cast-json"],
                "interface": "list",
                "options": {
                    "template": "{{header}}",
                    "fields": [
                        {
                            "field": "header",
                            "name": "$t:fields.directus_settings.ai_header_name",
                            "type": "string",
                            "schema": {"is_nullable": False},
                            "meta": {
                                "interface": "input",
                                "required": True,
                                "width": "half",
                                "options": {"placeholder": "X-Custom-Header"},
                            },
                        },
                        {
                            "field": "value",
                            "name": "$t:value",
                            "type": "string",
                            "schema": {"is_nullable": False},
                            "meta": {
                                "interface": "input",
                                "required": True,
                                "width": "half",
                                "options": {"placeholder": "header-value"},
                            },
                        },
                    ],
                },
                "width": "half",
                "group": "ai_group",
            },
        ),
        (
            "ai_openai_compatible_models",
            {
                "special": ["cast-json"],
                "interface": "list",
                "options": {
                    "template": "{{name}}",
                    "fields": [
                        {
                            "field": "id",
                            "name": "$t:fields.directus_settings.ai_model_id",
                            "type": "string",
                            "schema": {"is_nullable": False},
                            "meta": {
                                "interface": "input",
                                "required": True,
                                "width": "half",
                                "options": {"placeholder": "llama3.2"},
                            },
                        },
                        {
                            "field": "name",
                            "name": "$t:name",
                            "type": "string",
                            "schema": {"is_nullable": False},
                            "meta": {
                                "interface": "input",
                                "required": True,
                                "width": "half",
                                "options": {"placeholder": "Llama 3.2"},
                            },
                        },
                        {
                            "field": "context",
                            "name": "$t:fields.directus_settings.ai_context_limit",
                            "type": "integer",
                            "schema": {"is_nullable": True},
                            "meta": {"interface": "input", "width": "half", "options": {"placeholder": "128000"}},
                        },
                        {
                            "field": "output",
                            "name": "$t:fields.directus_settings.ai_output_limit",
                            "type": "integer",
                            "schema": {"is_nullable": True},
                            "meta": {"interface": "input", "width": "half", "options": {"placeholder": "16000"}},
                        },
                        {
                            "field": "attachment",
                            "name": "$t:fields.directus_settings.ai_supports_attachments",
                            "type": "boolean",
                            "schema": {"is_nullable": True, "default_value": False},
                            "meta": {"interface": "boolean", "width": "half"},
                        },
                        {
                            "field": "reasoning",
                            "name": "$t:fields.directus_settings.ai_supports_reasoning",
                            "type": "boolean",
                            "schema": {"is_nullable": True, "default_value": False},
                            "meta": {"interface": "boolean", "width": "half"},
                        },
                        {
                            "field": "providerOptions",
                            "name": "$t:fields.directus_settings.ai_provider_options",
                            "type": "json",
                            "schema": {"is_nullable": True},
                            "meta": {
                                "interface": "input-code",
                                "width": "full",
                                "options": {"language": "json", "placeholder": '{ "customOption": "value" }'},
                                "note": "$t:fields.directus_settings.ai_provider_options_note",
                            },
                        },
                    ],
                },
                "group": "ai_group",
            },
        ),
        ("mcp_group", {"special": ["alias", "no-data", "group"], "interface": "group-raw"}),
        (
            "mcp_divider",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {"icon": "automation", "title": "$t:model_context_protocol"},
                "group": "mcp_group",
            },
        ),
        (
            "mcp_notice",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-notice",
                "options": {"icon": "info", "text": "$t:fields.directus_settings.mcp_notice"},
                "group": "mcp_group",
            },
        ),
        (
            "mcp_enabled",
            {
                "special": ["cast-boolean"],
                "interface": "boolean",
                "options": {"label": "$t:enabled"},
                "width": "half",
                "group": "mcp_group",
                "note": "$t:fields.directus_settings.mcp_enabled_note",
            },
        ),
        (
            "mcp_allow_deletes",
            {
                "special": ["cast-boolean"],
                "interface": "boolean",
                "options": {"label": "$t:fields.directus_settings.mcp_allow_deletes"},
                "width": "half",
                "group": "mcp_group",
                "note": "$t:fields.directus_settings.mcp_allow_deletes_note",
                "conditions": [{"name": "mcp_enabled", "rule": {"mcp_enabled": {"_neq": True}}, "readonly": True}],
            },
        ),
        (
            "mcp_prompts_collection",
            {
                "interface": "system-collection",
                "options": {"includeSingleton": False, "allowNone": True},
                "width": "half",
                "group": "mcp_group",
                "note": "$t:fields.directus_settings.mcp_prompts_collection_note",
                "conditions": [{"name": "mcp_enabled", "rule": {"mcp_enabled": {"_neq": True}}, "readonly": True}],
            },
        ),
        (
            "mcp_prompts_collection_validation",
            {
                "special": ["alias", "no-data"],
                "interface": "system-mcp-prompts-collection-validation",
                "width": "half",
                "group": "mcp_group",
                "conditions": [{"name": "mcp_enabled", "rule": {"mcp_enabled": {"_neq": True}}, "hidden": True}],
            },
        ),
        (
            "mcp_oauth_enabled",
            {
                "special": ["cast-boolean"],
                "interface": "boolean",
                "options": {"label": "$t:fields.directus_settings.mcp_oauth_enabled"},
                "width": "half",
                "group": "mcp_group",
                "note": "$t:fields.directus_settings.mcp_oauth_enabled_note",
                "conditions": [{"name": "mcp_enabled", "rule": {"mcp_enabled": {"_neq": True}}, "readonly": True}],
            },
        ),
        (
            "mcp_oauth_dcr_enabled",
            {
                "special": ["cast-boolean"],
                "interface": "boolean",
                "options": {"label": "$t:fields.directus_settings.mcp_oauth_dcr_enabled"},
                "width": "half",
                "group": "mcp_group",
                "note": "Allow MCP clients to register automatically using the OAuth 2.0 Dynamic Client Registration protocol (RFC 7591).",
                "conditions": [
                    {"name": "mcp_oauth_disabled", "rule": {"mcp_oauth_enabled": {"_neq": True}}, "hidden": True}
                ],
            },
        ),
        (
            "mcp_oauth_cimd_enabled",
            {
                "special": ["cast-boolean"],
                "interface": "boolean",
                "options": {"label": "$t:fields.directus_settings.mcp_oauth_cimd_enabled"},
                "width": "half",
                "group": "mcp_group",
                "note": "Allow MCP clients to identify themselves using an HTTPS URL that hosts their metadata (IETF draft-oauth-client-id-metadata-document).",
                "conditions": [
                    {"name": "mcp_oauth_disabled", "rule": {"mcp_oauth_enabled": {"_neq": True}}, "hidden": True}
                ],
            },
        ),
        (
            "mcp_oauth_clients_link",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-links",
                "options": {
                    "links": [
                        {
                            "label": "$t:manage_registered_clients",
                            "icon": "key",
                            "type": "normal",
                            "actionType": "url",
                            "url": "/settings/mcp-oauth-clients",
                        }
                    ]
                },
                "width": "half",
                "group": "mcp_group",
                "conditions": [
                    {"name": "mcp_oauth_disabled", "rule": {"mcp_oauth_enabled": {"_neq": True}}, "hidden": True}
                ],
            },
        ),
        (
            "mcp_system_prompt_divider",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {
                    "inlineTitle": True,
                    "color": "var(--theme--foreground-subdued)",
                    "title": "$t:fields.directus_settings.mcp_system_prompt_divider",
                },
                "group": "mcp_group",
            },
        ),
        (
            "mcp_system_prompt_enabled",
            {
                "special": ["cast-boolean"],
                "interface": "boolean",
                "options": {"label": "$t:enabled"},
                "width": "half-left",
                "group": "mcp_group",
                "note": "$t:fields.directus_settings.mcp_system_prompt_enabled_note",
                "conditions": [{"name": "mcp_enabled", "rule": {"mcp_enabled": {"_neq": True}}, "readonly": True}],
            },
        ),
        (
            "mcp_system_prompt",
            {
                "interface": "input-rich-text-md",
                "options": {"label": "$t:fields.directus_settings.mcp_system_prompt"},
                "group": "mcp_group",
                "note": "$t:fields.directus_settings.mcp_system_prompt_note",
                "conditions": [
                    {"name": "mcp_enabled", "rule": {"mcp_enabled": {"_neq": True}}, "readonly": True},
                    {
                        "name": "mcp_system_prompt_enabled",
                        "rule": {"mcp_system_prompt_enabled": {"_neq": True}},
                        "readonly": True,
                    },
                ],
            },
        ),
        ("license_key", {"special": ["encrypt"], "hidden": True, "group": "license_group"}),
        ("license_token", {"special": ["encrypt"], "hidden": True, "group": "license_group"}),
    ),
    "directus_shares": (
        ("id", {"special": ["uuid"], "readonly": True, "hidden": True}),
        ("name", {}),
        ("collection", {"hidden": True, "width": "half"}),
        ("item", {"hidden": True, "width": "half"}),
        ("role", {"interface": "select-dropdown-m2o", "options": {"template": "{{name}}"}, "width": "half"}),
        (
            "password",
            {
                "special": ["hash", "conceal"],
                "interface": "input-hash",
                "options": {"iconRight": "lock", "masked": True},
                "width": "half",
                "note": "$t:shared_leave_blank_for_passwordless_access",
            },
        ),
        ("date_start", {"width": "half", "note": "$t:shared_leave_blank_for_unlimited"}),
        ("date_end", {"width": "half", "note": "$t:shared_leave_blank_for_unlimited"}),
        ("max_uses", {"width": "half", "note": "$t:shared_leave_blank_for_unlimited"}),
        ("times_used", {"readonly": True, "width": "half"}),
        (
            "date_created",
            {
                "special": ["date-created", "cast-timestamp"],
                "readonly": True,
                "width": "half",
                "conditions": [{"name": "notCreatedYet", "rule": {"id": {"_null": True}}, "hidden": True}],
            },
        ),
        (
            "user_created",
            {
                "special": ["user-created"],
                "interface": "select-dropdown-m2o",
                "options": {"template": "{{avatar.$thumbnail}} {{first_name}} {{last_name}}"},
                "display": "user",
                "readonly": True,
                "width": "half",
                "conditions": [{"name": "notCreatedYet", "rule": {"id": {"_null": True}}, "hidden": True}],
            },
        ),
    ),
    "directus_translations": (
        ("id", {"special": ["uuid"], "hidden": True}),
        (
            "key",
            {
                "interface": "input",
                "options": {"font": "monospace", "placeholder": "$t:translation_key_placeholder"},
                "width": "half",
                "required": True,
            },
        ),
        ("language", {"interface": "system-language", "width": "half", "required": True}),
        ("value", {"interface": "input-multiline", "options": {"placeholder": "$t:enter_a_value"}, "required": True}),
    ),
    "directus_users": (
        ("first_name", {"interface": "input", "options": {"iconRight": "account_circle"}, "width": "half"}),
        ("last_name", {"interface": "input", "options": {"iconRight": "account_circle"}, "width": "half"}),
        ("email", {"interface": "input", "options": {"iconRight": "email"}, "width": "half"}),
        (
            "password",
            {
                "special": ["hash", "conceal"],
                "interface": "input-hash",
                "options": {"iconRight": "lock", "masked": True},
                "width": "half",
            },
        ),
        ("avatar", {"interface": "file", "display": "image"}),
        ("location", {"interface": "input", "options": {"iconRight": "place"}, "width": "half"}),
        ("title", {"interface": "input", "options": {"iconRight": "work"}, "width": "half"}),
        ("description", {"interface": "input-multiline"}),
        (
            "tags",
            {
                "special": ["cast-json"],
                "interface": "tags",
                "options": {"iconRight": "local_offer"},
                "display": "labels",
                "display_options": {"choices": None, "format": False},
            },
        ),
        (
            "preferences_divider",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {"icon": "face", "title": "$t:fields.directus_users.user_preferences"},
            },
        ),
        ("language", {"interface": "system-language", "options": {"includeProjectDefault": True}, "width": "half"}),
        (
            "text_direction",
            {
                "interface": "select-dropdown",
                "options": {
                    "choices": [
                        {"value": "auto", "text": "$t:text_direction_auto"},
                        {"value": "ltr", "text": "$t:text_direction_ltr"},
                        {"value": "rtl", "text": "$t:text_direction_rtl"},
                    ]
                },
                "width": "half",
            },
        ),
        ("tfa_secret", {"special": ["conceal"], "interface": "system-mfa-setup", "width": "half"}),
        ("email_notifications", {"special": ["cast-boolean"], "interface": "boolean", "width": "half"}),
        (
            "theming_divider",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {"icon": "palette", "title": "$t:theme"},
            },
        ),
        (
            "appearance",
            {
                "interface": "select-dropdown",
                "options": {
                    "choices": [
                        {"value": None, "text": "$t:default_sync_with_project"},
                        {"value": "auto", "text": "$t:appearance_auto"},
                        {"value": "light", "text": "$t:appearance_light"},
                        {"value": "dark", "text": "$t:appearance_dark"},
                    ]
                },
                "width": "half",
            },
        ),
        ("theme_light", {"interface": "system-theme", "options": {"appearance": "light", "includeNull": True}}),
        (
            "theme_light_overrides",
            {"special": ["cast-json"], "interface": "system-theme-overrides", "options": {"appearance": "light"}},
        ),
        ("theme_dark", {"interface": "system-theme", "options": {"appearance": "dark", "includeNull": True}}),
        (
            "theme_dark_overrides",
            {"special": ["cast-json"], "interface": "system-theme-overrides", "options": {"appearance": "dark"}},
        ),
        (
            "admin_divider",
            {
                "special": ["alias", "no-data"],
                "interface": "presentation-divider",
                "options": {
                    "icon": "verified_user",
                    "title": "$t:fields.directus_users.admin_options",
                    "color": "var(--theme--danger)",
                },
            },
        ),
        (
            "status",
            {
                "interface": "select-dropdown",
                "options": {
                    "choices": [
                        {"text": "$t:fields.directus_users.status_draft", "value": "draft"},
                        {"text": "$t:fields.directus_users.status_invited", "value": "invited"},
                        {"text": "$t:fields.directus_users.status_unverified", "value": "unverified"},
                        {"text": "$t:fields.directus_users.status_active", "value": "active"},
                        {"text": "$t:fields.directus_users.status_suspended", "value": "suspended"},
                        {"text": "$t:fields.directus_users.status_archived", "value": "archived"},
                        {
                            "text": "$t:fields.directus_users.status_inactive_license_exceeded",
                            "value": "inactive-license",
                        },
                    ]
                },
                "width": "half",
            },
        ),
        (
            "role",
            {
                "special": ["m2o"],
                "interface": "select-dropdown-m2o",
                "options": {"template": "{{ name }}"},
                "display": "related-values",
                "display_options": {"template": "{{ name }}"},
                "width": "half",
            },
        ),
        (
            "policies",
            {"special": ["m2m"], "interface": "list-m2m", "options": {"layout": "list"}, "display": "related-values"},
        ),
        ("token", {"special": ["conceal"], "interface": "system-token"}),
        ("id", {"special": ["uuid"], "interface": "input", "options": {"iconRight": "vpn_key"}}),
        ("last_page", {"width": "half"}),
        ("last_access", {"display": "datetime", "readonly": True, "width": "half"}),
        ("provider", {"interface": "select-dropdown", "options": {"choices": []}, "width": "half"}),
        ("external_identifier", {"interface": "input", "options": {"iconRight": "account_circle"}, "width": "half"}),
        ("auth_data", {"hidden": True}),
    ),
    "directus_versions": (
        ("id", {"special": ["uuid"], "readonly": True, "hidden": True}),
        ("key", {}),
        ("name", {}),
        ("collection", {}),
        ("item", {}),
        ("hash", {"readonly": True, "hidden": True}),
        ("date_created", {"special": ["date-created", "cast-timestamp"]}),
        ("date_updated", {"special": ["date-updated", "cast-timestamp"]}),
        ("user_created", {"special": ["user-created"]}),
        ("user_updated", {"special": ["user-updated"]}),
        ("delta", {"special": ["cast-json"]}),
    ),
}
