import { registry } from "@web/core/registry";

/**
 * A privacy officer's erasure: find the person's records from a new request, erase them and see the erasure in
 * the audit log.
 *
 * The end-to-end suite runs it as a privacy officer while a lead "Tour Erase Meera" with phone +91 90000 22222
 * exists; see tests/e2e/test_browser.py.
 */
registry.category("web_tour.tours").add("ai_calling_crm_privacy_officer_erasure", {
    url: "/odoo/action-ai_calling_crm_privacy.crm_privacy_request_action",
    steps: () => [
        {
            content: "Create a request",
            trigger: ".o_control_panel_main_buttons button.o-kanban-button-new, .o_control_panel_main_buttons .o_list_button_add",
            run: "click",
        },
        {
            content: "Name the person",
            trigger: ".o_form_view div[name='requester_name'] input",
            run: "edit Tour Erase Meera",
        },
        {
            content: "Give the phone number the person wrote from",
            trigger: ".o_form_view div[name='requester_phone'] input",
            run: "edit +91 90000 22222",
        },
        {
            content: "Open the request types",
            trigger: ".o_form_view div[name='request_type'] .o_select_menu_toggler",
            run: "click",
        },
        {
            content: "Choose erasure",
            trigger: ".o_select_menu_item:contains(Erasure)",
            run: "click",
        },
        {
            content: "Find the person's records",
            trigger: ".o_form_view .o_form_statusbar button[name='action_find_matches']",
            run: "click",
        },
        {
            content: "The lead is among the matches",
            trigger: ".o_form_view div[name='match_ids'] .o_data_row:contains(Tour Erase Meera)",
        },
        {
            content: "Erase",
            trigger: ".o_form_view .o_form_statusbar button[name='action_erase']",
            run: "click",
        },
        {
            content: "Confirm the erasure",
            trigger: ".modal footer .btn-primary",
            run: "click",
        },
        {
            content: "The request is done",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains(Done)",
        },
        {
            content: "Open the Privacy menu",
            trigger: ".o_main_navbar .o_menu_sections button:contains(Privacy)",
            run: "click",
        },
        {
            content: "Open the audit log",
            trigger: ".dropdown-item:contains(Audit Log)",
            run: "click",
        },
        {
            content: "The erasure is in the audit log",
            trigger: ".o_data_row:contains(Erasure), .o_kanban_record:contains(Erasure)",
        },
    ],
});
