-- When a schedule was last switched on (`schedule enable`): the
-- schedule_missed condition counts fire times from the latest of its
-- creation, its last success and this instant, so a schedule enabled again
-- after a pause is not missed at once. NULL: never disabled and enabled again.
ALTER TABLE dm.schedules ADD COLUMN enabled_at timestamptz;
