"""Base views: a view names its contract and answers through it."""

from rest_framework.views import APIView

from kernel.api.contracts import BARE, Contract


class ContractView(APIView):
    contract: Contract = BARE

    def ok(self, data=None, *, message: str | None = None, status: int = 200, headers=None):
        return self.contract.success(data, message=message, status=status, headers=headers)
