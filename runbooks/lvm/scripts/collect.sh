#!/bin/sh
# LVM state for lvm.audit, constant: each section starts with a BP-LVM line and ends
# with BP-EXIT and the command's exit status. Sizes in bytes, without suffix. The
# fields are the ones runbooks/lvm/collect.py names (its tests check they match).
# sbin directories are added because a non-root login's PATH often lacks them.
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin; export PATH
command -v lvm >/dev/null 2>&1 || { echo "BP-MISSING lvm2"; exit 0; }
echo "BP-LVM vgs"; vgs --reportformat json --units b --nosuffix -o vg_name,vg_attr,vg_size,vg_free,vg_extent_size,vg_extent_count,vg_free_count,pv_count,vg_missing_pv_count,lv_count; echo "BP-EXIT $?"
echo "BP-LVM lvs"; lvs --reportformat json --units b --nosuffix -o vg_name,lv_name,lv_attr,segtype,lv_size,lv_metadata_size,data_percent,metadata_percent,pool_lv,origin,lv_health_status,lv_check_needed,sync_percent,copy_percent,raid_sync_action,raid_mismatch_count,lv_when_full,lv_active,seg_monitor,thin_count; echo "BP-EXIT $?"
echo "BP-LVM pvs"; pvs --reportformat json --units b --nosuffix -o pv_name,vg_name,pv_attr,pv_size,pv_free,pv_missing; echo "BP-EXIT $?"
echo "BP-LVM config"; lvmconfig --type full activation/thin_pool_autoextend_threshold activation/thin_pool_autoextend_percent activation/monitoring; echo "BP-EXIT $?"
