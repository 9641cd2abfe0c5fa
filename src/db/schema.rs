//! Diesel's view of the tables. Hand-kept: the column types are the subset both backends
//! share (BigInt, Text, Bool, Timestamp), and a test checks that both migration folders
//! produce exactly these tables and columns.

diesel::table! {
    campaigns (id) {
        id -> BigInt,
        name -> Text,
        created_at -> Timestamp,
        time_zone -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        email -> Text,
        name -> Text,
        role -> Text,
        region_id -> Nullable<BigInt>,
        password_hash -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    regions (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        name -> Text,
        director_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        area -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        user_id -> BigInt,
        family_id -> Text,
        token_hash -> Text,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        rotated -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    invites (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        user_id -> BigInt,
        code_hash -> Text,
        created_by -> Nullable<BigInt>,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    devices (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        user_id -> BigInt,
        token -> Text,
        platform -> Text,
        last_seen_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        actor_id -> Nullable<BigInt>,
        action -> Text,
        target_type -> Text,
        target_id -> Nullable<BigInt>,
        details -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    doors (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        address_key -> Text,
        unit -> Text,
        street -> Text,
        housenumber -> Text,
        postcode -> Text,
        city -> Text,
        lat -> Double,
        lng -> Double,
        cell -> BigInt,
        do_not_walk -> Bool,
        last_contact_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    people (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        external_id -> Text,
        door_id -> BigInt,
        first_name -> Text,
        last_name -> Text,
        party -> Nullable<Text>,
        birth_year -> Nullable<BigInt>,
        phone -> Nullable<Text>,
        do_not_walk -> Bool,
        deceased -> Bool,
        moved -> Bool,
        support_score -> Nullable<Double>,
        turnout_score -> Nullable<Double>,
        last_contact_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        email -> Nullable<Text>,
        preferred_language -> Nullable<Text>,
    }
}

diesel::table! {
    imports (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        kind -> Text,
        status -> Text,
        rows_read -> BigInt,
        created -> BigInt,
        updated -> BigInt,
        rejected -> BigInt,
        errors -> Text,
        message -> Nullable<Text>,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        lease_until -> Nullable<Timestamp>,
        attempts -> BigInt,
        bytes -> BigInt,
    }
}

diesel::table! {
    import_chunks (campaign_id, import_id, seq) {
        campaign_id -> BigInt,
        import_id -> BigInt,
        seq -> BigInt,
        data -> Binary,
    }
}

diesel::table! {
    turfs (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        name -> Text,
        region_id -> Nullable<BigInt>,
        resolution -> BigInt,
        cell_count -> BigInt,
        min_lng -> Double,
        min_lat -> Double,
        max_lng -> Double,
        max_lat -> Double,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    turf_cells (campaign_id, turf_id, cell) {
        campaign_id -> BigInt,
        turf_id -> BigInt,
        cell -> BigInt,
        lo -> BigInt,
        hi -> BigInt,
    }
}

diesel::table! {
    walk_lists (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        turf_id -> BigInt,
        name -> Text,
        state -> Text,
        universe -> Text,
        door_count -> BigInt,
        people_count -> BigInt,
        distance_m -> Double,
        walking_seconds -> Double,
        start_lat -> Double,
        start_lng -> Double,
        assignee_count -> BigInt,
        claimed_by -> Nullable<BigInt>,
        claimed_until -> Nullable<Timestamp>,
        knocked_doors -> BigInt,
        version -> BigInt,
        expires_at -> Timestamp,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        number -> BigInt,
        finished_doors -> BigInt,
        contacts -> BigInt,
        closed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    building_notes (campaign_id, address_key) {
        campaign_id -> BigInt,
        address_key -> Text,
        notes -> Text,
        updated_by -> Nullable<BigInt>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    walk_list_stops (campaign_id, walk_list_id, door_id) {
        campaign_id -> BigInt,
        walk_list_id -> BigInt,
        door_id -> BigInt,
        position -> BigInt,
        live -> Bool,
        last_result -> Nullable<Text>,
        last_knocked_at -> Nullable<Timestamp>,
        finished -> Bool,
        moved_to -> Nullable<BigInt>,
    }
}

diesel::table! {
    walk_list_holders (campaign_id, walk_list_id, user_id) {
        campaign_id -> BigInt,
        walk_list_id -> BigInt,
        user_id -> BigInt,
    }
}

diesel::table! {
    walk_list_people (campaign_id, walk_list_id, person_id) {
        campaign_id -> BigInt,
        walk_list_id -> BigInt,
        person_id -> BigInt,
        door_id -> BigInt,
    }
}

diesel::table! {
    walk_list_cells (campaign_id, cell, walk_list_id) {
        campaign_id -> BigInt,
        cell -> BigInt,
        walk_list_id -> BigInt,
    }
}

diesel::table! {
    walk_list_assignments (campaign_id, walk_list_id, user_id) {
        campaign_id -> BigInt,
        walk_list_id -> BigInt,
        user_id -> BigInt,
        assigned_by -> Nullable<BigInt>,
        assigned_at -> Timestamp,
    }
}

diesel::table! {
    push_messages (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        user_id -> BigInt,
        device_id -> Nullable<BigInt>,
        walk_list_id -> Nullable<BigInt>,
        event -> Text,
        title -> Text,
        body -> Text,
        data -> Text,
        state -> Text,
        attempts -> BigInt,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        fcm_name -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    questions (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        key -> Text,
        kind -> Text,
        text -> Text,
        answers -> Text,
        active -> Bool,
        created_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    knocks (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        client_id -> Text,
        user_id -> BigInt,
        walk_list_id -> BigInt,
        door_id -> BigInt,
        result -> Text,
        notes -> Text,
        people -> Text,
        script_id -> Nullable<BigInt>,
        knocked_at -> Timestamp,
        received_at -> Timestamp,
        lat -> Nullable<Double>,
        lng -> Nullable<Double>,
        accuracy_m -> Nullable<Double>,
        distance_m -> Nullable<Double>,
        location_quality -> Text,
        content_hash -> Text,
    }
}

diesel::table! {
    goals (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        region_id -> Nullable<BigInt>,
        metric -> Text,
        starts_on -> Date,
        ends_on -> Date,
        target -> BigInt,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tags (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        key -> Text,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    person_tags (campaign_id, person_id, tag_id) {
        campaign_id -> BigInt,
        person_id -> BigInt,
        tag_id -> BigInt,
        applied_at -> Timestamp,
        removed -> Bool,
        knock_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    list_numbers (campaign_id) {
        campaign_id -> BigInt,
        last_number -> BigInt,
    }
}

diesel::table! {
    export_codes (campaign_id, kind, local_key) {
        campaign_id -> BigInt,
        kind -> Text,
        local_key -> Text,
        code -> Text,
    }
}

diesel::table! {
    knock_answers (campaign_id, knock_id, person_id, question_key) {
        campaign_id -> BigInt,
        knock_id -> BigInt,
        person_id -> BigInt,
        question_key -> Text,
        answer -> Text,
    }
}

diesel::table! {
    person_evidence (campaign_id, person_id, kind) {
        campaign_id -> BigInt,
        person_id -> BigInt,
        kind -> BigInt,
        own -> BigInt,
        mates -> BigInt,
        mates_sum -> BigInt,
    }
}

diesel::table! {
    cell_evidence (campaign_id, cell, kind) {
        campaign_id -> BigInt,
        cell -> BigInt,
        kind -> BigInt,
        n -> BigInt,
        sum -> BigInt,
        sum_sq -> BigInt,
    }
}

diesel::table! {
    score_rebuilds (campaign_id) {
        campaign_id -> BigInt,
    }
}

diesel::table! {
    score_history (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        person_id -> Nullable<BigInt>,
        cell -> Nullable<BigInt>,
        knock_id -> Nullable<BigInt>,
        rule -> Text,
        old_score -> Nullable<Double>,
        new_score -> Double,
        created_at -> Timestamp,
    }
}

diesel::table! {
    scripts (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        title -> Text,
        body -> Text,
        question_keys -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    experiments (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        name -> Text,
        arms -> Text,
        scope_kind -> Text,
        scope -> Text,
        region_id -> Nullable<BigInt>,
        outcome -> Text,
        min_contacts -> BigInt,
        state -> Text,
        starts_at -> Timestamp,
        ends_at -> Nullable<Timestamp>,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        stopped_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    experiment_doors (campaign_id, experiment_id, door_id) {
        campaign_id -> BigInt,
        experiment_id -> BigInt,
        door_id -> BigInt,
        arm -> BigInt,
        script_id -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    campaigns,
    users,
    regions,
    refresh_tokens,
    invites,
    devices,
    audit_log,
    doors,
    people,
    imports,
    import_chunks,
    turfs,
    turf_cells,
    walk_lists,
    walk_list_stops,
    walk_list_people,
    walk_list_cells,
    walk_list_assignments,
    walk_list_holders,
    push_messages,
    questions,
    knocks,
    building_notes,
    knock_answers,
    export_codes,
    list_numbers,
    goals,
    tags,
    person_tags,
    person_evidence,
    cell_evidence,
    score_rebuilds,
    score_history,
    scripts,
    experiments,
    experiment_doors,
);
