"""The CronJob controller: creates Jobs on a cron schedule."""
