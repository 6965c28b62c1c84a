// SPDX-License-Identifier: MIT
// A datatoken as Ocean's are for payment purposes: a plain ERC-20 (OpenZeppelin), its supply minted to the deployer.
pragma solidity ^0.8.20;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

contract Datatoken is ERC20 {
    constructor(string memory name_, string memory symbol_, uint256 supply) ERC20(name_, symbol_) {
        _mint(msg.sender, supply);
    }
}
