import { registry } from "@web/core/registry";

// A counsellor logs a call from the lead form, then the chatter note, the Calls smart button and
// the Calls tab show it.
registry.category("web_tour.tours").add("ai_calling_crm_log_call", {
    steps: () => [
        {
            // Tap-to-call link under the title, shown on phones only.
            trigger: ".o_form_view div[name='mobile_call_links'] a[href^='tel:']",
            isActive: ["mobile"],
        },
        {
            trigger: ".o_form_view .o_form_statusbar button[name='action_log_call']",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name='outcome_id'] .o_selection_badge:contains('Call back later')",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name='outcome_id'] .o_selection_badge.active:contains('Call back later')",
        },
        {
            trigger: ".modal .o_field_widget[name='notes'] textarea",
            run: "edit माता-पिता से बात करके बताएंगे",
        },
        {
            trigger: ".modal-footer button[name='action_log_call']",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
        {
            trigger: ".o-mail-Message:contains('Outbound call: Call back later')",
        },
        {
            trigger: ".o_form_view .oe_stat_button[name='action_view_calls'] .o_stat_value:contains('1')",
            isActive: ["desktop"], // Odoo 19 shows no smart buttons on a phone-sized form
        },
        {
            trigger: ".o_form_view .o_notebook .nav-link:contains('Calls')",
        },
    ],
});

// The same dialog opens from the phone button of a pipeline kanban card, as in the mobile app.
registry.category("web_tour.tours").add("ai_calling_crm_log_call_kanban", {
    steps: () => [
        {
            trigger: ".o_kanban_record:contains('Spoken English enquiry') button[name='action_log_call']",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name='outcome_id'] .o_selection_badge:contains('No answer')",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name='outcome_id'] .o_selection_badge.active:contains('No answer')",
        },
        {
            trigger: ".modal-footer button[name='action_log_call']",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
        {
            trigger: ".o_kanban_view",
        },
    ],
});

// And from the row button of the leads list.
registry.category("web_tour.tours").add("ai_calling_crm_log_call_list", {
    steps: () => [
        {
            trigger: ".o_data_row:contains('Data Science enquiry') button[name='action_log_call']",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name='outcome_id'] .o_selection_badge:contains('Busy')",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name='outcome_id'] .o_selection_badge.active:contains('Busy')",
        },
        {
            trigger: ".modal-footer button[name='action_log_call']",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
        {
            trigger: ".o_list_view",
        },
    ],
});
