"""Former name of :mod:`flask_nicepay.inbound`, kept while imports move over.

It shared its name with :mod:`flask_nicepay.portone.schemas`, which reads PortOne's
answers; the schemas for what reaches the plugin now live in ``inbound``.
"""

from .inbound import COMPLETION as COMPLETION
from .inbound import CURRENCIES as CURRENCIES
from .inbound import IMP_UID as IMP_UID
from .inbound import MERCHANT_UID as MERCHANT_UID
from .inbound import ORDER_REQUEST as ORDER_REQUEST
from .inbound import RETURN as RETURN
from .inbound import WEBHOOK as WEBHOOK
from .inbound import CompletionSchema as CompletionSchema
from .inbound import OrderRequestSchema as OrderRequestSchema
from .inbound import ReturnSchema as ReturnSchema
from .inbound import WebhookSchema as WebhookSchema
