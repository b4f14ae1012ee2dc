# The lab's changes to Debian's /etc/nagios4/nagios.cfg: intervals count in
# seconds, results and status are written every second, checks start at once
# rather than spread over the first interval, no state carried across starts,
# no syslog or mail in a container, and no example localhost services.
s/^interval_length=.*/interval_length=1/
s/^status_update_interval=.*/status_update_interval=1/
s/^check_result_reaper_frequency=.*/check_result_reaper_frequency=1/
s/^service_inter_check_delay_method=.*/service_inter_check_delay_method=n/
s/^host_inter_check_delay_method=.*/host_inter_check_delay_method=n/
s/^retain_state_information=.*/retain_state_information=0/
s/^use_syslog=.*/use_syslog=0/
s/^enable_notifications=.*/enable_notifications=0/
s|^cfg_file=/etc/nagios4/objects/localhost.cfg|#&|
