"""The ERP business rules (autodiscovered by alerts.alerting.rules): one rule per job of
`erpjobs/jobs.py`, with the job's id as the rule id, and the thresholds staff edit at runtime.

Each rule is evaluated by its own job (declared with `job=`), so its tables are the job's `reads`:
while the day sync of a date fails (`sync_day_failed`), these alerts carrying that `date` label are
held. The queries live in `erpjobs/conditions/`.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from alerts.alerting.models import Severity
from alerts.alerting.rules import declare_rule
from alerts.alerting.thresholds import ThresholdSpec, declare_threshold

_ = gettext_lazy

for spec in (
    ThresholdSpec("shortage_safety_pct", _("缺料预警：现存量低于安全库存的百分之多少时预警"), "%", 100, 1, 1000),
    ThresholdSpec("shortage_critical_pct", _("缺料预警：现存量低于安全库存的百分之多少时为严重"), "%", 50, 0, 1000),
    ThresholdSpec("kit_days_ahead", _("齐套检查：检查几天内开工的生产订单"), _("天"), 3, 0, 60),
    ThresholdSpec("kit_rate_pct", _("齐套检查：齐套率低于多少时预警"), "%", 100, 1, 100),
    ThresholdSpec("kit_critical_days", _("齐套检查：距开工不足几天为严重"), _("天"), 1, 0, 60),
    ThresholdSpec("delivery_delay_grace_days", _("到货延迟：计划到货日之后宽限几天"), _("天"), 0, 0, 60),
    ThresholdSpec("delivery_shortfall_tolerance_pct", _("到货延迟：到货数量允许短少的百分比"), "%", 0, 0, 100),
    ThresholdSpec("delivery_delay_critical_days", _("到货延迟：延迟超过几天为严重"), _("天"), 7, 1, 365),
    ThresholdSpec("production_lag_pct", _("生产计划预警：完工进度落后于时间进度多少个百分点时预警"), "%", 20, 1, 100),
    ThresholdSpec("production_late_critical_days", _("生产计划预警：超过计划完工日几天为严重"), _("天"), 3, 0, 365),
    ThresholdSpec("receivable_min_balance", _("逾期应收：客户逾期余额至少多少元才预警"), _("元"), 0, 0, 1e9, False),
    ThresholdSpec("receivable_bucket_1_days", _("逾期应收：第一账龄段上限（天）"), _("天"), 30, 1, 3650),
    ThresholdSpec("receivable_bucket_2_days", _("逾期应收：第二账龄段上限（天）"), _("天"), 60, 2, 3650),
    ThresholdSpec("receivable_bucket_3_days", _("逾期应收：第三账龄段上限（天），超过为严重"), _("天"), 90, 3, 3650),
    ThresholdSpec("spec_check_days_ahead", _("规格匹配检查：检查几天内开工的生产订单用料"), _("天"), 14, 0, 365),
    ThresholdSpec("outsourcing_days_ahead", _("外协交期预警：提前几天提醒即将到期的委外订单"), _("天"), 3, 0, 60),
    ThresholdSpec("outsourcing_late_critical_days", _("外协交期预警：逾期超过几天为严重"), _("天"), 3, 0, 365),
    ThresholdSpec(
        "work_report_timeout_hours", _("报工超时提醒：在制生产订单几小时没有报工时提醒"), _("小时"), 24, 1, 720
    ),
    ThresholdSpec("work_report_critical_hours", _("报工超时提醒：几小时没有报工为严重"), _("小时"), 72, 1, 2160),
    ThresholdSpec("ecn_grace_days", _("ECN 超时检查：期限之后宽限几天"), _("天"), 0, 0, 60),
    ThresholdSpec("ecn_critical_days", _("ECN 超时检查：超期几天为严重"), _("天"), 7, 0, 365),
    ThresholdSpec("maintenance_days_ahead", _("设备保养提醒：提前几天提醒"), _("天"), 3, 0, 60),
    ThresholdSpec("maintenance_overdue_critical_days", _("设备保养提醒：超期几天为严重"), _("天"), 7, 0, 365),
    ThresholdSpec("sales_delivery_days_ahead", _("销售提醒：检查几天内交货的销售订单"), _("天"), 7, 0, 90),
    ThresholdSpec("quotation_expiry_days", _("销售提醒：报价单失效前几天提醒"), _("天"), 3, 0, 90),
    ThresholdSpec("opportunity_idle_days", _("销售提醒：商机几天未跟进时提醒"), _("天"), 14, 1, 365),
):
    declare_threshold(spec)

declare_rule(
    id="generate_shortage_alerts",
    name=_("缺料预警"),
    severity=Severity.WARNING,
    advice=_("核对该物料的请购/采购进度，必要时加急或调拨"),
    job="generate_shortage_alerts",
)
declare_rule(
    id="daily_kit_check",
    name=_("生产订单未齐套"),
    severity=Severity.WARNING,
    advice=_("催交缺口物料或调整开工顺序"),
    job="daily_kit_check",
)
declare_rule(
    id="check_delivery_delay",
    name=_("到货延迟"),
    severity=Severity.WARNING,
    advice=_("联系供应商确认发货时间，评估对生产的影响"),
    job="check_delivery_delay",
)
declare_rule(
    id="check_production_plan_alerts",
    name=_("生产计划预警"),
    severity=Severity.WARNING,
    advice=_("与车间确认进度与瓶颈，必要时调整计划或加班"),
    job="check_production_plan_alerts",
)
declare_rule(
    id="check_overdue_receivable_alerts",
    name=_("逾期应收"),
    severity=Severity.WARNING,
    advice=_("联系客户催收，必要时暂停发货"),
    job="check_overdue_receivable_alerts",
)
declare_rule(
    id="daily_spec_match_check",
    name=_("采购规格不符"),
    severity=Severity.WARNING,
    advice=_("与采购和技术确认规格；不符的请联系供应商更换或改单"),
    job="daily_spec_match_check",
)
declare_rule(
    id="check_outsourcing_delivery_alerts",
    name=_("外协交期"),
    severity=Severity.WARNING,
    advice=_("联系委外商确认交货，必要时调整生产计划"),
    job="check_outsourcing_delivery_alerts",
)
declare_rule(
    id="check_work_report_timeout",
    name=_("报工超时"),
    severity=Severity.WARNING,
    advice=_("联系车间确认进度并补报工"),
    job="check_work_report_timeout",
)
declare_rule(
    id="run_ecn_scheduler",
    name=_("ECN 超时"),
    severity=Severity.WARNING,
    advice=_("催促负责人完成审批或实施，或调整期限"),
    job="run_ecn_scheduler",
)
declare_rule(
    id="check_equipment_maintenance_reminder",
    name=_("设备保养"),
    severity=Severity.INFO,
    advice=_("安排保养并在设备系统中登记完成"),
    job="check_equipment_maintenance_reminder",
)
declare_rule(
    id="sales_reminder_scan",
    name=_("销售提醒"),
    severity=Severity.INFO,
    advice=_("跟进客户：确认交付安排、续签报价或更新商机进展"),
    job="sales_reminder_scan",
)
