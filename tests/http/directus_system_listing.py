"""What Directus 12.4.1 lists as its system collections, fields and relations (``GET /collections``,
``/fields``, ``/relations`` as its admin, on a fresh SQLite project; recorded in
``tests/e2e/expected/sdk_rest.json``). Facts to compare Tidepool's listings with, not code: each collection's
fields in Directus's ``sort`` order (a field without metadata first), each relation as (collection, field,
related collection), ``directus_access.policy`` twice as Directus lists it."""

from __future__ import annotations

DIRECTUS_FIELDS: dict[str, str] = {
    "directus_access": "id role user policy sort",
    "directus_activity": "id item action collection timestamp user user_agent origin ip revisions",
    "directus_collections": (
        "collection_divider collection note status icon color display_template hidden singleton translations "
        "content_translations_divider translations_enable_helper preview_divider preview_url "
        "content_versioning_divider versioning autosave_revision_interval archive_divider archive_field "
        "archive_app_filter archive_value unarchive_value sort_divider sort_field accountability_divider "
        "accountability duplication_divider item_duplication_fields sort group collapse"
    ),
    "directus_comments": "id collection item comment date_created date_updated user_created user_updated",
    "directus_dashboards": "id name icon panels date_created user_created note color",
    "directus_deployment_projects": (
        "id deployment external_id name url framework deployable runs date_created user_created"
    ),
    "directus_deployment_runs": (
        "id project external_id target status url started_at completed_at date_created user_created"
    ),
    "directus_deployments": (
        "webhook_secret id provider credentials options projects webhook_ids last_synced_at date_created user_created"
    ),
    "directus_extensions": "id folder source bundle enabled",
    "directus_fields": (
        "id collection field special interface options display display_options readonly hidden required "
        "searchable sort width group translations note conditions validation validation_message"
    ),
    "directus_files": (
        "id title description tags location storage focal_point_divider focal_point_x focal_point_y "
        "storage_divider filename_disk filename_download metadata type filesize created_on modified_by "
        "modified_on embed uploaded_by uploaded_on folder width height charset duration tus_id tus_data"
    ),
    "directus_flows": (
        "id name icon color description status trigger accountability options operation operations "
        "date_created user_created folder"
    ),
    "directus_folders": "id parent name type",
    "directus_migrations": "version name timestamp",
    "directus_notifications": "id timestamp status recipient sender subject message collection item",
    "directus_oauth_clients": (
        "client_name redirect_uris grant_types date_created client_id token_endpoint_auth_method "
        "client_secret_hash tokens registration_type client_uri logo_uri tos_uri policy_uri "
        "metadata_fetched_at metadata_expires_at metadata_etag"
    ),
    "directus_oauth_codes": (
        "id code_hash client user redirect_uri resource code_challenge code_challenge_method scope expires_at used_at"
    ),
    "directus_oauth_consents": "id user client redirect_uri scope date_created date_updated",
    "directus_oauth_tokens": "id client user session previous_session resource code_hash scope expires_at date_created",
    "directus_operations": (
        "id name key type position_x position_y options resolve reject flow date_created user_created"
    ),
    "directus_panels": (
        "id name icon color note type show_header position_x position_y width height options date_created "
        "user_created dashboard"
    ),
    "directus_permissions": "permissions presets policy collection id fields action validation",
    "directus_policies": (
        "id name icon description permissions app_access admin_access ip_access enforce_tfa "
        "assigned_to_divider users roles"
    ),
    "directus_presets": (
        "filter layout_query layout_options role user id bookmark icon color search collection layout refresh_interval"
    ),
    "directus_relations": (
        "id many_collection many_field one_collection one_field one_collection_field one_allowed_collections "
        "junction_field sort_field one_deselect_action"
    ),
    "directus_revisions": "id activity collection item data delta parent version",
    "directus_roles": "id name icon description parent children policies users_group users_divider users",
    "directus_sessions": "token user expires ip user_agent origin share next_token oauth_client",
    "directus_settings": (
        "id project_name project_descriptor project_url default_language default_save_action project_owner "
        "project_usage org_name product_updates project_status modules_divider module_bar "
        "visual_editor_divider visual_editor_urls security_divider auth_password_policy auth_login_attempts "
        "public_registration_divider public_registration public_registration_role "
        "public_registration_verify_email public_registration_email_filter files_divider "
        "storage_asset_transform storage_default_folder storage_asset_presets reporting_divider "
        "report_feature_url report_bug_url report_error_url collaborative_editing_divider "
        "collaborative_editing_enabled map_divider mapbox_key basemaps image_editor custom_aspect_ratios "
        "project_id theming_group branding_divider project_color project_logo public_foreground "
        "public_background public_favicon public_note theming_divider default_appearance default_theme_light "
        "theme_light_overrides default_theme_dark theme_dark_overrides custom_css ai_group ai_divider "
        "ai_notice ai_openai_api_key ai_openai_allowed_models ai_anthropic_api_key "
        "ai_anthropic_allowed_models ai_google_api_key ai_google_allowed_models ai_system_prompt "
        "ai_translation_divider ai_translations_notice ai_translation_default_model ai_translation_glossary "
        "ai_translation_style_guide ai_openai_compatible_divider ai_openai_compatible_notice "
        "ai_openai_compatible_name ai_openai_compatible_base_url ai_openai_compatible_api_key "
        "ai_openai_compatible_headers ai_openai_compatible_models mcp_group mcp_divider mcp_notice "
        "mcp_enabled mcp_allow_deletes mcp_prompts_collection mcp_prompts_collection_validation "
        "mcp_oauth_enabled mcp_oauth_dcr_enabled mcp_oauth_cimd_enabled mcp_oauth_clients_link "
        "mcp_system_prompt_divider mcp_system_prompt_enabled mcp_system_prompt license_key license_token"
    ),
    "directus_shares": (
        "id name collection item role password date_start date_end max_uses times_used date_created user_created"
    ),
    "directus_translations": "id key language value",
    "directus_users": (
        "first_name last_name email password avatar location title description tags preferences_divider "
        "language text_direction tfa_secret email_notifications theming_divider appearance theme_light "
        "theme_light_overrides theme_dark theme_dark_overrides admin_divider status role policies token id "
        "last_page last_access provider external_identifier auth_data"
    ),
    "directus_versions": "id key name collection item hash date_created date_updated user_created user_updated delta",
}
DIRECTUS_RELATIONS: list[tuple[str, str, str]] = [
    ("directus_access", "policy", "directus_policies"),
    ("directus_access", "policy", "directus_policies"),
    ("directus_access", "role", "directus_roles"),
    ("directus_access", "user", "directus_users"),
    ("directus_activity", "user", "directus_users"),
    ("directus_collections", "group", "directus_collections"),
    ("directus_comments", "collection", "directus_collections"),
    ("directus_comments", "user_created", "directus_users"),
    ("directus_comments", "user_updated", "directus_users"),
    ("directus_dashboards", "user_created", "directus_users"),
    ("directus_deployment_projects", "deployment", "directus_deployments"),
    ("directus_deployment_projects", "user_created", "directus_users"),
    ("directus_deployment_runs", "project", "directus_deployment_projects"),
    ("directus_deployment_runs", "user_created", "directus_users"),
    ("directus_deployments", "user_created", "directus_users"),
    ("directus_fields", "collection", "directus_collections"),
    ("directus_fields", "group", "directus_fields"),
    ("directus_files", "folder", "directus_folders"),
    ("directus_files", "modified_by", "directus_users"),
    ("directus_files", "uploaded_by", "directus_users"),
    ("directus_flows", "folder", "directus_folders"),
    ("directus_flows", "operation", "directus_operations"),
    ("directus_flows", "user_created", "directus_users"),
    ("directus_folders", "parent", "directus_folders"),
    ("directus_notifications", "recipient", "directus_users"),
    ("directus_notifications", "sender", "directus_users"),
    ("directus_oauth_codes", "client", "directus_oauth_clients"),
    ("directus_oauth_codes", "user", "directus_users"),
    ("directus_oauth_consents", "client", "directus_oauth_clients"),
    ("directus_oauth_consents", "user", "directus_users"),
    ("directus_oauth_tokens", "client", "directus_oauth_clients"),
    ("directus_oauth_tokens", "user", "directus_users"),
    ("directus_operations", "flow", "directus_flows"),
    ("directus_operations", "reject", "directus_operations"),
    ("directus_operations", "resolve", "directus_operations"),
    ("directus_operations", "user_created", "directus_users"),
    ("directus_panels", "dashboard", "directus_dashboards"),
    ("directus_panels", "user_created", "directus_users"),
    ("directus_permissions", "policy", "directus_policies"),
    ("directus_presets", "role", "directus_roles"),
    ("directus_presets", "user", "directus_users"),
    ("directus_revisions", "activity", "directus_activity"),
    ("directus_revisions", "parent", "directus_revisions"),
    ("directus_revisions", "version", "directus_versions"),
    ("directus_roles", "parent", "directus_roles"),
    ("directus_sessions", "oauth_client", "directus_oauth_clients"),
    ("directus_sessions", "share", "directus_shares"),
    ("directus_sessions", "user", "directus_users"),
    ("directus_settings", "project_logo", "directus_files"),
    ("directus_settings", "public_background", "directus_files"),
    ("directus_settings", "public_favicon", "directus_files"),
    ("directus_settings", "public_foreground", "directus_files"),
    ("directus_settings", "public_registration_role", "directus_roles"),
    ("directus_settings", "storage_default_folder", "directus_folders"),
    ("directus_shares", "collection", "directus_collections"),
    ("directus_shares", "role", "directus_roles"),
    ("directus_shares", "user_created", "directus_users"),
    ("directus_users", "avatar", "directus_files"),
    ("directus_users", "role", "directus_roles"),
    ("directus_versions", "collection", "directus_collections"),
    ("directus_versions", "user_created", "directus_users"),
    ("directus_versions", "user_updated", "directus_users"),
]
