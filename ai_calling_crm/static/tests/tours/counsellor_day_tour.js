import { registry } from "@web/core/registry";

/**
 * A counsellor's day: open a new lead from the activity menu, check its tap-to-call link, log the call with
 * an outcome and see the next follow-up on the lead.
 *
 * The end-to-end suite runs it as a counsellor who has one new lead named "Tour Lead Kavya" with a call
 * follow-up due today; see tests/e2e/test_browser.py.
 */
registry.category("web_tour.tours").add("ai_calling_crm_counsellor_day", {
    url: "/odoo",
    steps: () => [
        {
            content: "Open the activity menu",
            trigger: ".o_menu_systray .o-mail-ActivityMenu-counter",
            run: "click",
        },
        {
            content: "Open the leads with activities",
            trigger: ".o-mail-ActivityGroup:contains(Lead)",
            run: "click",
        },
        {
            content: "Open the new lead",
            trigger: ".o_kanban_record:contains(Tour Lead Kavya), .o_data_row:contains(Tour Lead Kavya) .o_data_cell",
            run: "click",
        },
        {
            content: "The lead's phone is a tap-to-call link",
            trigger: ".o_form_view div[name='phone'] input",
            run() {
                // The desktop client shows the link on hover and the mobile app always, so only its presence is checked.
                const link = document.querySelector(".o_form_view div[name='phone'] a[href^='tel:']");
                if (!link || !link.href.includes("919847012345")) {
                    throw new Error("The lead's phone has no tel: link to the lead's number");
                }
            },
        },
        {
            content: "Log a call",
            trigger: ".o_form_view .o_form_statusbar button[name='action_log_call']",
            run: "click",
        },
        {
            content: "Choose the outcome",
            trigger: ".modal div[name='outcome_id'] span:contains(Call back later)",
            run: "click",
        },
        {
            content: "Write what was said",
            trigger: ".modal div[name='notes'] textarea",
            run: "edit Wants hostel fees; call back after the parents decide",
        },
        {
            content: "Save the call",
            trigger: ".modal footer button[name='action_log_call']",
            run: "click",
        },
        {
            content: "The call is counted on the lead",
            trigger: ".o_form_view button[name='action_view_calls'] .o_stat_value:contains(1)",
        },
        {
            content: "The next follow-up is scheduled",
            trigger: ".o_form_view div[name='next_follow_up_at'] :not(:empty)",
        },
    ],
});
