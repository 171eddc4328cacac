-- The bodies the workloads send, per object type: what a real integration writes to each type,
-- checked against the server's catalogues (catalogue/<type>-properties.json: names, enumeration
-- options, required properties, pipelines), so every request is answered 2xx. benches/load.rs
-- seeds each type with the same properties and the same value distributions (`seeded_object`).
--
-- Each type gives:
--   new_object(tid, n)  one create's body, different for every (thread, n), with a run tag
--   update(tid, i)      one PATCH body (never the W4 filter property, so the split stays half)
--   get_properties      the 6 properties W2's GET and W5's list pages ask for
--   search              W4: EQ on an enumeration `property` whose two `values` split the objects
--                       in halves (new_object alternates them with n), sorted by the date or
--                       datetime `sort` DESCENDING, with 5 `properties`, limit 100
--   distinct_creates    every create must differ from all others (a unique property)
--
-- The calls entry is what ../shared/perf sends, byte for byte: change it only with the harness.

local run_tag = os.getenv("RUN_TAG") or tostring(os.time())

-- An ISO 8601 instant, spread over a year by (thread, n) as calls' hs_timestamp.
local function spread_time(tid, n, offset_seconds)
  local at = 1700000000 + (tid * 1000003 + n * 37) % 31536000 + (offset_seconds or 0)
  return os.date("!%Y-%m-%dT%H:%M:%S.000Z", at)
end

-- The n-th of a list, cycling.
local function pick(list, n)
  return list[n % #list + 1]
end

local TOPICS = { "renewal timeline", "pricing for the enterprise tier", "onboarding blockers",
                 "support escalation", "quarterly business review", "contract redlines" }

-- Two topics of the six, varied by thread and n (calls' notes, and the other engagements' text).
local function topics(tid, n)
  return TOPICS[n % #TOPICS + 1], TOPICS[(n + 1 + tid % 5) % #TOPICS + 1]
end

local objects = {}

-- Calls: as ../shared/perf. Search: EQ on hs_call_direction, sorted by hs_timestamp.
do
  local DIRECTIONS = { "INBOUND", "OUTBOUND" }
  local STATUSES = { "COMPLETED", "NO_ANSWER", "BUSY", "FAILED", "COMPLETED", "COMPLETED" }
  local UPDATE_STATUSES = { "COMPLETED", "NO_ANSWER", "BUSY", "FAILED" }

  -- An hs_call_body of about 200 characters, different for every (thread, n).
  local function call_notes(tid, n)
    local first, second = topics(tid, n)
    return string.format("Spoke with the customer about %s and %s. Agreed next steps: send recap, "
      .. "schedule a follow-up demo, loop in finance. Ref %s-%d-%d; notes logged by the rep after "
      .. "the call ended.", first, second, run_tag, tid, n)
  end

  objects.calls = {
    get_properties =
      "hs_timestamp,hs_call_title,hs_call_body,hs_call_duration,hs_call_direction,hs_call_status",
    search = {
      property = "hs_call_direction", values = { "OUTBOUND", "INBOUND" }, sort = "hs_timestamp",
      properties =
        '["hs_timestamp","hs_call_title","hs_call_direction","hs_call_duration","hs_call_status"]',
    },
    -- ~440 bytes (measured; the harness's README says ~600): timestamps spread over a year,
    -- half inbound and half outbound, a unique title.
    new_object = function(tid, n)
      return string.format('{"properties":{"hs_timestamp":"%s","hs_call_title":"Call %s-%d-%d with '
        .. 'ACME procurement","hs_call_body":"%s","hs_call_duration":"%d","hs_call_direction":"%s",'
        .. '"hs_call_status":"%s"},"associations":[]}',
        spread_time(tid, n), run_tag, tid, n, call_notes(tid, n),
        (n * 7919 + tid * 104729) % 3600000, DIRECTIONS[n % 2 + 1], STATUSES[n % #STATUSES + 1])
    end,
    -- Status, duration and title.
    update = function(tid, i)
      return string.format('{"properties":{"hs_call_status":"%s","hs_call_duration":"%d",'
        .. '"hs_call_title":"Updated %s-%d-%d"}}', UPDATE_STATUSES[i % #UPDATE_STATUSES + 1],
        i * 7919 % 3600000, run_tag, tid, i)
    end,
  }
end

-- Contacts: a sign-up or CRM sync. email is unique per portal (a second one is a 409), so every
-- create is built when sent. Search: EQ on lifecyclestage (lead or customer), sorted by
-- createdate, the server's create time (contacts have no writable datetime a sync sets).
do
  local FIRST = { "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret" }
  local LAST = { "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Ritchie" }
  local COMPANIES = { "ACME", "Globex", "Initech", "Umbrella", "Stark Industries", "Wayne Enterprises" }
  local CITIES = { "Boston", "Berlin", "Dublin", "Paris", "Austin" }
  local TITLES = { "Head of Procurement", "VP Finance", "IT Manager", "Operations Lead", "CTO" }
  local LEAD_STATUSES = { "NEW", "OPEN", "IN_PROGRESS", "CONNECTED" }

  objects.contacts = {
    distinct_creates = true,
    get_properties = "email,firstname,lastname,phone,company,lifecyclestage",
    search = {
      property = "lifecyclestage", values = { "customer", "lead" }, sort = "createdate",
      properties = '["email","firstname","lastname","lifecyclestage","createdate"]',
    },
    -- ~290 bytes.
    new_object = function(tid, n)
      local first, last = pick(FIRST, n), pick(LAST, n + tid)
      return string.format('{"properties":{"email":"%s.%s.%s-%d-%d@example.com","firstname":"%s",'
        .. '"lastname":"%s","phone":"+1 617 555 %04d","company":"%s","jobtitle":"%s","city":"%s",'
        .. '"country":"United States","lifecyclestage":"%s","hs_lead_status":"%s"},'
        .. '"associations":[]}',
        first:lower(), last:lower(), run_tag, tid, n, first, last, (n * 7919 + tid) % 10000,
        pick(COMPANIES, n), pick(TITLES, n + tid), pick(CITIES, n), n % 2 == 0 and "lead" or "customer",
        pick(LEAD_STATUSES, n))
    end,
    -- Job title, phone and lead status.
    update = function(tid, i)
      return string.format('{"properties":{"jobtitle":"%s (updated %s-%d-%d)","phone":'
        .. '"+1 617 555 %04d","hs_lead_status":"%s"}}', pick(TITLES, i), run_tag, tid, i,
        i * 7919 % 10000, pick(LEAD_STATUSES, i))
    end,
  }
end

-- Companies: an enrichment or ERP sync. Search: EQ on lifecyclestage (lead or customer), sorted
-- by createdate (companies have no writable datetime a sync sets either).
do
  local NAMES = { "ACME", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay" }
  local INDUSTRIES = { "COMPUTER_SOFTWARE", "FINANCIAL_SERVICES", "HOSPITAL_HEALTH_CARE", "RETAIL",
                       "LOGISTICS_AND_SUPPLY_CHAIN", "MARKETING_AND_ADVERTISING" }
  local CITIES = { "Boston", "Berlin", "Dublin", "Paris", "Austin" }
  local TYPES = { "PROSPECT", "PARTNER", "RESELLER", "VENDOR" }

  objects.companies = {
    get_properties = "name,domain,industry,city,lifecyclestage,numberofemployees",
    search = {
      property = "lifecyclestage", values = { "customer", "lead" }, sort = "createdate",
      properties = '["name","domain","industry","lifecyclestage","createdate"]',
    },
    -- ~420 bytes, with a ~100-character description.
    new_object = function(tid, n)
      local name = pick(NAMES, n)
      return string.format('{"properties":{"name":"%s %s-%d-%d","domain":"%s-%s-%d-%d.example.com",'
        .. '"industry":"%s","city":"%s","country":"United States","phone":"+1 617 555 %04d",'
        .. '"numberofemployees":"%d","annualrevenue":"%d","type":"%s","lifecyclestage":"%s",'
        .. '"description":"%s builds and sells %s tooling; account %s-%d-%d, synced from the ERP '
        .. 'by the nightly job."},"associations":[]}',
        name, run_tag, tid, n, name:lower(), run_tag, tid, n, pick(INDUSTRIES, n + tid),
        pick(CITIES, n), (n * 7919 + tid) % 10000, 10 + (n * 37) % 5000,
        100000 * (1 + (n * 7919) % 900), pick(TYPES, n), n % 2 == 0 and "lead" or "customer",
        name, pick(INDUSTRIES, n + tid):lower():gsub("_", " "), run_tag, tid, n)
    end,
    -- Head count, revenue and phone.
    update = function(tid, i)
      return string.format('{"properties":{"numberofemployees":"%d","annualrevenue":"%d",'
        .. '"phone":"+1 617 555 %04d"}}', 10 + (i * 37) % 5000, 100000 * (1 + (i * 7919) % 900),
        (i * 7919 + tid) % 10000)
    end,
  }
end

-- Deals: the default pipeline's stages (catalogue and src/crm/pipelines/defaults.rs). Search: EQ
-- on dealtype (new or existing business), sorted by closedate, spread over a year.
do
  local STAGES = { "appointmentscheduled", "qualifiedtobuy", "presentationscheduled",
                   "decisionmakerboughtin", "contractsent", "closedwon", "closedlost" }
  local PRIORITIES = { "low", "medium", "high" }
  local PRODUCTS = { "enterprise tier", "support plan", "analytics add-on", "onboarding package" }

  objects.deals = {
    get_properties = "dealname,amount,dealstage,pipeline,closedate,dealtype",
    search = {
      property = "dealtype", values = { "existingbusiness", "newbusiness" }, sort = "closedate",
      properties = '["dealname","amount","dealstage","dealtype","closedate"]',
    },
    -- ~370 bytes, with a ~100-character description.
    new_object = function(tid, n)
      local product = pick(PRODUCTS, n + tid)
      return string.format('{"properties":{"dealname":"ACME %s %s-%d-%d","amount":"%d.%02d",'
        .. '"dealstage":"%s","pipeline":"default","closedate":"%s","dealtype":"%s","hs_priority":'
        .. '"%s","description":"Renewal of the %s for ACME procurement, quote %s-%d-%d; finance '
        .. 'signs off before the close date."},"associations":[]}',
        product, run_tag, tid, n, 1000 + (n * 7919 + tid) % 99000, n % 100, pick(STAGES, n),
        spread_time(tid, n), n % 2 == 0 and "newbusiness" or "existingbusiness",
        pick(PRIORITIES, n), product, run_tag, tid, n)
    end,
    -- Stage, amount and priority (a deal moving along the pipeline).
    update = function(tid, i)
      return string.format('{"properties":{"dealstage":"%s","amount":"%d.%02d","hs_priority":'
        .. '"%s"}}', pick(STAGES, i + tid), 1000 + (i * 7919) % 99000, i % 100,
        pick(PRIORITIES, i))
    end,
  }
end

-- Tickets: the default pipeline 0 and its stages 1..4. Search: EQ on hs_ticket_priority (HIGH or
-- MEDIUM), sorted by createdate (closed_date, the only writable date, is empty on open tickets).
do
  local STAGES = { "1", "2", "3" }
  local CATEGORIES = { "PRODUCT_ISSUE", "BILLING_ISSUE", "FEATURE_REQUEST", "GENERAL_INQUIRY" }
  local SOURCES = { "EMAIL", "CHAT", "FORM", "PHONE" }
  local PROBLEMS = { "Export to CSV fails", "Invoice shows the wrong VAT", "SSO login loops",
                     "Report totals differ from the dashboard", "Webhook deliveries delayed" }

  objects.tickets = {
    get_properties =
      "subject,content,hs_pipeline,hs_pipeline_stage,hs_ticket_priority,hs_ticket_category",
    search = {
      property = "hs_ticket_priority", values = { "MEDIUM", "HIGH" }, sort = "createdate",
      properties =
        '["subject","hs_pipeline_stage","hs_ticket_priority","hs_ticket_category","createdate"]',
    },
    -- ~420 bytes, with a ~200-character content.
    new_object = function(tid, n)
      local first, second = topics(tid, n)
      return string.format('{"properties":{"subject":"%s (%s-%d-%d)","content":"Customer reports '
        .. 'the problem since the last release, while preparing the %s and the %s. Steps to '
        .. 'reproduce and screenshots attached; ref %s-%d-%d, logged from the support inbox.",'
        .. '"hs_pipeline":"0","hs_pipeline_stage":"%s","hs_ticket_priority":"%s",'
        .. '"hs_ticket_category":"%s","source_type":"%s"},"associations":[]}',
        pick(PROBLEMS, n + tid), run_tag, tid, n, first, second, run_tag, tid, n, pick(STAGES, n),
        n % 2 == 0 and "HIGH" or "MEDIUM", pick(CATEGORIES, n + tid), pick(SOURCES, n))
    end,
    -- Stage (closed included), category and subject.
    update = function(tid, i)
      return string.format('{"properties":{"hs_pipeline_stage":"%d","hs_ticket_category":"%s",'
        .. '"subject":"%s (updated %s-%d-%d)"}}', i % 4 + 1, pick(CATEGORIES, i),
        pick(PROBLEMS, i), run_tag, tid, i)
    end,
  }
end

-- Notes: a note logged against a record. Notes have no enumeration with fixed options, so the
-- search is EQ on hubspot_owner_id (an enumeration of the portal's owners; a portal without
-- configured owners accepts any numeric id): one of two owners, sorted by hs_timestamp.
do
  local OWNERS = { "71000001", "71000002" }

  objects.notes = {
    get_properties =
      "hs_timestamp,hs_note_body,hubspot_owner_id,hs_body_preview,hs_createdate,hs_lastmodifieddate",
    search = {
      property = "hubspot_owner_id", values = OWNERS, sort = "hs_timestamp",
      properties =
        '["hs_timestamp","hubspot_owner_id","hs_body_preview","hs_createdate","hs_lastmodifieddate"]',
    },
    -- ~310 bytes, a ~200-character hs_note_body.
    new_object = function(tid, n)
      local first, second = topics(tid, n)
      return string.format('{"properties":{"hs_timestamp":"%s","hs_note_body":"Met the buyer about '
        .. '%s and %s. They want the quote split per region and a reference call with a customer '
        .. 'of their size. Ref %s-%d-%d; follow up next week.","hubspot_owner_id":"%s"},'
        .. '"associations":[]}',
        spread_time(tid, n), first, second, run_tag, tid, n, OWNERS[n % 2 + 1])
    end,
    -- The body, edited.
    update = function(tid, i)
      return string.format('{"properties":{"hs_note_body":"Edited %s-%d-%d: the buyer confirmed '
        .. 'the %s; next step booked."}}', run_tag, tid, i, pick(TOPICS, i))
    end,
  }
end

-- Emails: a logged email. hs_email_direction is required on create (with hs_timestamp).
-- Search: EQ on hs_email_direction (sent or received), sorted by hs_timestamp.
do
  local DIRECTIONS = { "EMAIL", "INCOMING_EMAIL" }
  local STATUSES = { "SENT", "SENT", "SENT", "BOUNCED" }

  objects.emails = {
    get_properties =
      "hs_timestamp,hs_email_subject,hs_email_text,hs_email_direction,hs_email_status,hs_body_preview",
    search = {
      property = "hs_email_direction", values = DIRECTIONS, sort = "hs_timestamp",
      properties =
        '["hs_timestamp","hs_email_subject","hs_email_direction","hs_email_status","hs_createdate"]',
    },
    -- ~390 bytes, a ~200-character hs_email_text.
    new_object = function(tid, n)
      local first, second = topics(tid, n)
      return string.format('{"properties":{"hs_timestamp":"%s","hs_email_subject":"Re: %s (%s-%d-%d)",'
        .. '"hs_email_text":"Hi, thanks for the call. As promised, a summary of the %s and the %s, '
        .. 'with the open questions for finance. Ref %s-%d-%d. Best regards, the account team.",'
        .. '"hs_email_direction":"%s","hs_email_status":"%s"},"associations":[]}',
        spread_time(tid, n), first, run_tag, tid, n, first, second, run_tag, tid, n,
        DIRECTIONS[n % 2 + 1], pick(STATUSES, n))
    end,
    -- Status and subject.
    update = function(tid, i)
      return string.format('{"properties":{"hs_email_status":"%s","hs_email_subject":"Re: %s '
        .. '(updated %s-%d-%d)"}}', pick(STATUSES, i), pick(TOPICS, i), run_tag, tid, i)
    end,
  }
end

-- Meetings: a booked meeting of 30 minutes, hs_timestamp its start. Search: EQ on
-- hs_meeting_outcome (scheduled or completed), sorted by hs_meeting_start_time.
do
  local OUTCOMES = { "SCHEDULED", "COMPLETED" }
  local LOCATIONS = { "Zoom", "ACME office, Boston", "Phone" }

  objects.meetings = {
    get_properties = "hs_timestamp,hs_meeting_title,hs_meeting_body,hs_meeting_start_time,"
      .. "hs_meeting_end_time,hs_meeting_outcome",
    search = {
      property = "hs_meeting_outcome", values = OUTCOMES, sort = "hs_meeting_start_time",
      properties = '["hs_meeting_title","hs_meeting_start_time","hs_meeting_end_time",'
        .. '"hs_meeting_outcome","hs_meeting_location"]',
    },
    -- ~500 bytes, a ~200-character hs_meeting_body.
    new_object = function(tid, n)
      local first, second = topics(tid, n)
      local start = spread_time(tid, n)
      return string.format('{"properties":{"hs_timestamp":"%s","hs_meeting_title":"%s with ACME '
        .. '(%s-%d-%d)","hs_meeting_body":"Agenda: review the %s, then the %s. Attendees from '
        .. 'procurement and finance; bring the usage report. Ref %s-%d-%d; booked through the '
        .. 'scheduling page.","hs_meeting_start_time":"%s","hs_meeting_end_time":"%s",'
        .. '"hs_meeting_outcome":"%s","hs_meeting_location":"%s"},"associations":[]}',
        start, first, run_tag, tid, n, first, second, run_tag, tid, n, start,
        spread_time(tid, n, 1800), OUTCOMES[n % 2 + 1], pick(LOCATIONS, n))
    end,
    -- Title, location and internal notes.
    update = function(tid, i)
      return string.format('{"properties":{"hs_meeting_title":"%s with ACME (updated %s-%d-%d)",'
        .. '"hs_meeting_location":"%s","hs_internal_meeting_notes":"Moved room; prepare the %s."}}',
        pick(TOPICS, i), run_tag, tid, i, pick(LOCATIONS, i), pick(TOPICS, i + 1))
    end,
  }
end

-- Tasks: a follow-up task, hs_timestamp its due date. Search: EQ on hs_task_status (not started
-- or completed), sorted by hs_timestamp.
do
  local STATUSES = { "NOT_STARTED", "COMPLETED" }
  local PRIORITIES = { "LOW", "MEDIUM", "HIGH" }
  local TYPES = { "CALL", "EMAIL", "TODO" }

  objects.tasks = {
    get_properties =
      "hs_timestamp,hs_task_subject,hs_task_body,hs_task_status,hs_task_priority,hs_task_type",
    search = {
      property = "hs_task_status", values = STATUSES, sort = "hs_timestamp",
      properties =
        '["hs_timestamp","hs_task_subject","hs_task_status","hs_task_priority","hs_task_type"]',
    },
    -- ~420 bytes, a ~200-character hs_task_body.
    new_object = function(tid, n)
      local first, second = topics(tid, n)
      return string.format('{"properties":{"hs_timestamp":"%s","hs_task_subject":"Follow up on %s '
        .. '(%s-%d-%d)","hs_task_body":"Send the recap of the %s and the %s, then book the demo '
        .. 'with finance. Check the redlines with legal first. Ref %s-%d-%d; created from the '
        .. 'call log.","hs_task_status":"%s","hs_task_priority":"%s","hs_task_type":"%s"},'
        .. '"associations":[]}',
        spread_time(tid, n), first, run_tag, tid, n, first, second, run_tag, tid, n,
        STATUSES[n % 2 + 1], pick(PRIORITIES, n), pick(TYPES, n + tid))
    end,
    -- Priority, subject and type.
    update = function(tid, i)
      return string.format('{"properties":{"hs_task_priority":"%s","hs_task_subject":"Follow up '
        .. 'on %s (updated %s-%d-%d)","hs_task_type":"%s"}}', pick(PRIORITIES, i),
        pick(TOPICS, i), run_tag, tid, i, pick(TYPES, i))
    end,
  }
end

return objects
